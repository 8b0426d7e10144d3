"""The session store: one place decides SQLite, Postgres or memory from DATABASE_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from graph.locks import SessionLocks
from graph.owners import MemoryOwners, Owners, sqlite_owners
from graph.store_sql import SqliteSql
from graph.turn_saver import TurnSaver


@dataclass
class SessionStore:
    """Where sessions live and how turns on one session are kept apart."""

    checkpointer: TurnSaver
    locks: SessionLocks
    owners: Owners


def sqlite_path(database_url: str) -> Path:
    """The file named by a sqlite:///PATH URL."""
    return Path(database_url.removeprefix("sqlite:///"))


@asynccontextmanager
async def open_store(
    database_url: str, lock_timeout: float = 60.0, pool_size: int = 10, max_turns: int = 1
) -> AsyncIterator[SessionStore]:
    """Open the store named by `database_url` for the life of the service; `max_turns` turns
    may run at once, each holding one session lock."""
    if database_url.startswith(("postgresql://", "postgres://")):
        from graph.checkpoint_postgres import open_postgres_store  # psycopg only when used

        lock_pool_size = max(pool_size, max_turns)
        async with open_postgres_store(
            database_url, lock_timeout, pool_size, lock_pool_size
        ) as store:
            yield SessionStore(*store)
    elif database_url.startswith("memory://"):
        saver = TurnSaver(InMemorySaver(), sql=None)
        yield SessionStore(saver, SessionLocks(lock_timeout), MemoryOwners())
    else:
        path = sqlite_path(database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as sqlite:
            await sqlite.setup()
            owners = await sqlite_owners(sqlite)
            saver = TurnSaver(sqlite, SqliteSql(sqlite))
            yield SessionStore(saver, SessionLocks(lock_timeout), owners)
