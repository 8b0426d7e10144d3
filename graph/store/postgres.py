"""The Postgres session store: a checkpointer pool, a lock pool, migrations one at a time,
and its health: a lost connection is a 503 until a new one is made.

Imported only when DATABASE_URL names Postgres (psycopg takes a while to import).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agent.errors import AgentError
from agent.settings import mask_url_password
from graph.store import SessionStore
from graph.store.backend_registry import BackendRegistry, postgres_registry
from graph.store.background_runs import RunStore, postgres_runs
from graph.store.health import UNREACHABLE, StoreHealth, database_unavailable, describe
from graph.store.locks import DeploymentLimit, PostgresSessionLocks, too_many_turns
from graph.store.owners import Owners, postgres_owners
from graph.store.sql import (
    CLEAR_FROM,
    DROP_ALL,
    DROP_OTHERS,
    INSERT,
    LATEST_ID,
    MESSAGES_TABLE,
    READ,
    Row,
    numbered,
)
from graph.store.turn_saver import TurnSaver

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


SETUP_LOCK_KEY = 7_241_958_301  # serialises schema migrations of concurrent processes
SETUP_POLL = 0.1  # seconds between tries for SETUP_LOCK_KEY


class StoreUnavailable(RuntimeError):
    """The database named by DATABASE_URL does not answer."""


async def _check_reachable(url: str) -> None:
    """Fail fast, naming the database, instead of a pool timeout 30 s later."""
    reason = await probe(url, 10)
    if reason is not None:
        reason = reason.splitlines()[-1]
        raise StoreUnavailable(
            f"cannot connect to the session database {mask_url_password(url)}: {reason}"
        )


@asynccontextmanager
async def open_postgres_store(
    url: str,
    lock_timeout: float,
    pool_size: int,
    lock_pool_size: int,
    wait: float,
    deployment: DeploymentLimit | None = None,
) -> AsyncIterator[SessionStore]:
    """The store in the Postgres database at `url`. `lock_pool_size` is
    at least the running-turn limit, so the turn queue, not the lock pool, limits how many
    turns run. A database call waits `wait` seconds for a connection before it is answered
    with a 503."""
    await _check_reachable(url)
    # A turn keeps its lock's connection while the saver needs others: one shared pool
    # deadlocks as soon as `pool_size` turns run at once, so the locks get their own.
    async with _pool(url, pool_size, wait) as pool, _pool(url, lock_pool_size, wait) as lock_pool:
        saver = AsyncPostgresSaver(pool)
        sql = PostgresSql(saver)
        health = PostgresHealth(saver, url, wait)
        async with lock_pool.connection() as conn:  # the saver's pool may have one connection
            owners, registry, runs = await _setup_alone(saver, sql, conn)
        locks = PostgresSessionLocks(
            lock_pool, lock_timeout, health.unreachable, wait, deployment=deployment
        )
        yield SessionStore(TurnSaver(saver, sql), locks, owners, health, registry, runs)


async def _setup_alone(
    saver: AsyncPostgresSaver, sql: PostgresSql, conn: Any
) -> tuple[Owners, BackendRegistry, RunStore]:
    """Run the saver's migrations and create the owners, messages, backends and runs tables while
    holding SETUP_LOCK_KEY on `conn`."""
    await _poll_lock(conn, SETUP_LOCK_KEY)
    try:
        await saver.setup()
        await sql.setup()
        owners, registry = await postgres_owners(sql.pool), await postgres_registry(sql.pool)
        return owners, registry, await postgres_runs(sql.pool)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))


async def _poll_lock(conn: Any, key: int) -> None:
    """Take an advisory lock by polling, never by blocking in pg_advisory_lock.

    A session blocked there is a running statement; the migrations' CREATE INDEX CONCURRENTLY
    waits for it to end, so two processes starting together would wait on each other forever.
    """
    while True:
        cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (key,))
        row = await cursor.fetchone()
        if row and row["locked"]:
            return
        await asyncio.sleep(SETUP_POLL)


def _pool(url: str, size: int, wait: float) -> AsyncConnectionPool:
    """A pool that survives the database going away: each connection is checked when taken
    (a dead one is replaced), and a pool that gave up reconnecting after `2 * wait` seconds
    tries again on the next request instead of backing off for minutes."""
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs=kwargs,
        open=False,
        timeout=wait,
        check=AsyncConnectionPool.check_connection,
        reconnect_timeout=2 * wait,
    )


class PostgresSql:
    """The saver's own keep_latest prune (checkpoints, their writes, unreferenced blobs)."""

    def __init__(self, saver: AsyncPostgresSaver) -> None:
        self.saver = saver
        self.pool: Any = saver.conn

    async def setup(self) -> None:
        await self._run(MESSAGES_TABLE.format(blob="BYTEA", tail=""), ())

    async def prune(self, thread_id: str) -> None:
        await self.saver.aprune([thread_id], strategy="keep_latest")

    async def latest_id(self, thread_id: str) -> str | None:
        rows = await self._run(LATEST_ID.format("%s"), (thread_id,))
        return rows[0]["checkpoint_id"] if rows else None

    async def write_messages(
        self, thread_id: str, generation: str, start: int, rows: Sequence[Row]
    ) -> None:
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(CLEAR_FROM.format("%s"), (thread_id, generation, start))
            await cursor.executemany(
                INSERT.format("%s"), numbered(thread_id, generation, start, rows)
            )

    async def read_messages(self, thread_id: str, generation: str, count: int) -> list[Row]:
        rows = await self._run(READ.format("%s"), (thread_id, generation, count))
        return [(row["type"], bytes(row["blob"])) for row in rows]

    async def drop_generations(self, thread_id: str, keep: str | None) -> None:
        if keep is None:
            await self._run(DROP_ALL.format("%s"), (thread_id,))
        else:
            await self._run(DROP_OTHERS.format("%s"), (thread_id, keep))

    async def _run(self, sql: str, params: tuple) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall() if cursor.description else []
