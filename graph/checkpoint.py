"""The session store: one place decides SQLite, Postgres or memory from DATABASE_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from graph.locks import PostgresSessionLocks, SessionLocks

SETUP_LOCK_KEY = 7_241_958_301  # serialises schema migrations of concurrent processes


@dataclass
class SessionStore:
    """Where sessions live and how turns on one session are kept apart."""

    checkpointer: BaseCheckpointSaver
    locks: SessionLocks


def sqlite_path(database_url: str) -> Path:
    """The file named by a sqlite:///PATH URL."""
    return Path(database_url.removeprefix("sqlite:///"))


@asynccontextmanager
async def open_store(
    database_url: str, lock_timeout: float = 60.0, pool_size: int = 10
) -> AsyncIterator[SessionStore]:
    """Open the store named by `database_url` for the life of the service."""
    if database_url.startswith(("postgresql://", "postgres://")):
        async with _postgres(database_url, lock_timeout, pool_size) as store:
            yield store
    elif database_url.startswith("memory://"):
        yield SessionStore(InMemorySaver(), SessionLocks(lock_timeout))
    else:
        path = sqlite_path(database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield SessionStore(saver, SessionLocks(lock_timeout))


@asynccontextmanager
async def _postgres(url: str, lock_timeout: float, pool_size: int) -> AsyncIterator[SessionStore]:
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    async with AsyncConnectionPool(
        url, min_size=1, max_size=pool_size, kwargs=kwargs, open=False
    ) as pool:
        saver = AsyncPostgresSaver(pool)
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK_KEY,))
            try:
                await saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
        yield SessionStore(saver, PostgresSessionLocks(pool, lock_timeout))
