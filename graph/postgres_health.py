"""The health of a Postgres store: a lost connection is a 503 until a new one is made.

Imported only for Postgres stores (psycopg takes a while to import)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from agent.errors import AgentError
from graph.locks import too_many_turns
from graph.store_health import UNREACHABLE, StoreHealth, database_unavailable, describe

logger = logging.getLogger(__name__)


async def probe(url: str, connect_seconds: float) -> str | None:
    """Why a new connection to `url` cannot be made (passwords masked), or None."""
    try:
        seconds = max(int(connect_seconds), 2)  # libpq's smallest connect_timeout
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=seconds)
    except psycopg.Error as exc:
        return describe(exc)
    await conn.close()
    return None


class PostgresHealth(StoreHealth):
    """Once a database call fails, each request first checks that a connection can be made
    again, so requests fail at once while the database is gone instead of each waiting for
    a pool timeout; the pools reconnect by themselves."""

    errors = (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError)

    def __init__(self, checkpointer: Any, url: str, timeout: float) -> None:
        super().__init__(checkpointer)
        self.url = url
        self.timeout = timeout
        self.down: str | None = None  # why the last database call failed

    async def require(self) -> None:
        """Raise the 503 while the database that failed last still cannot be reached."""
        if self.down is None:
            return
        reason = await probe(self.url, self.timeout)
        if reason is not None:
            raise database_unavailable(UNREACHABLE)
        logger.warning("session database is back")
        self.down = None

    async def unreachable(self) -> str | None:
        """Probe the database now; remember it as down when it does not answer."""
        reason = await probe(self.url, self.timeout)
        if reason is not None:
            self._mark_down(reason)
        return reason

    async def translate(self, exc: BaseException) -> AgentError | None:
        """Lost or refused connections; a pool timeout is the database's fault only when
        it does not answer (else every connection is busy: too_many_turns)."""
        if isinstance(exc, PoolTimeout):
            if await self.unreachable() is None:
                return too_many_turns()
            return database_unavailable(UNREACHABLE)
        if isinstance(exc, self.errors):
            self._mark_down(describe(exc))
            return database_unavailable(UNREACHABLE)
        return None

    def _mark_down(self, reason: str) -> None:
        if self.down is None:
            logger.warning("session database unavailable: %s", reason)
        self.down = reason
