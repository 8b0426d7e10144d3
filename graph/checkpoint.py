"""The session store: one place decides SQLite, Postgres or memory from DATABASE_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from graph.backend_registry import BackendRegistry, sqlite_registry
from graph.background_runs import RunStore, memory_runs, sqlite_runs
from graph.locks import DeploymentLimit, FileSessionLocks, SessionLocks
from graph.owners import MemoryOwners, Owners, sqlite_owners
from graph.sqlite_inline import open_inline_saver
from graph.store_health import SqliteHealth, StoreHealth
from graph.store_sql import SqliteSql
from graph.turn_saver import TurnSaver


@dataclass
class SessionStore:
    """Where sessions live and how turns on one session are kept apart."""

    checkpointer: TurnSaver
    locks: SessionLocks
    owners: Owners
    health: StoreHealth
    registry: BackendRegistry | None = None
    """Backends registered at run time, shared by the processes of one database (none in
    memory://, which one process alone uses)."""
    runs: RunStore | None = None
    """Background runs (graph/background_runs.py), in the same database."""


def store_errors(database_url: str) -> tuple[type[Exception], ...]:
    """The exception types the store named by `database_url` fails with (the API answers
    them with a 503 instead of a 500)."""
    if database_url.startswith(("postgresql://", "postgres://")):
        from graph.postgres_health import PostgresHealth

        return PostgresHealth.errors
    if database_url.startswith("memory://"):
        return ()
    return SqliteHealth.errors


def sqlite_path(database_url: str) -> Path:
    """The file named by a sqlite:///PATH URL."""
    return Path(database_url.removeprefix("sqlite:///"))


@asynccontextmanager
async def open_store(
    database_url: str,
    lock_timeout: float = 60.0,
    pool_size: int = 10,
    max_turns: int = 1,
    connect_timeout: float = 5.0,
    deployment: DeploymentLimit | None = None,
) -> AsyncIterator[SessionStore]:
    """Open the store named by `database_url` for the life of the service; `max_turns` turns
    may run at once, each holding one session lock. Processes on one host may share a
    SQLite file (turns on a session are serialised across them); a database call waits
    `connect_timeout` seconds for a Postgres connection. `deployment` limits the turns
    running at once across every process of the database (not in memory://)."""
    if database_url.startswith(("postgresql://", "postgres://")):
        from graph.checkpoint_postgres import open_postgres_store  # psycopg only when used

        lock_pool_size = max(pool_size, max_turns)
        async with open_postgres_store(
            database_url, lock_timeout, pool_size, lock_pool_size, connect_timeout, deployment
        ) as store:
            yield SessionStore(*store)
    elif database_url.startswith("memory://"):
        saver = TurnSaver(InMemorySaver(), sql=None)
        locks, owners, health = SessionLocks(lock_timeout), MemoryOwners(), StoreHealth(saver)
        yield SessionStore(saver, locks, owners, health, None, await memory_runs())
    else:
        path = sqlite_path(database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = path.with_name(path.name + ".lock")
        locks = FileSessionLocks(lock_file, lock_timeout, deployment=deployment)
        try:
            with open_inline_saver(path) as sqlite:
                owners = await sqlite_owners(sqlite)
                registry = await sqlite_registry(sqlite)
                health = SqliteHealth(sqlite, path)
                sql = SqliteSql(sqlite)
                await sql.setup()
                saver = TurnSaver(sqlite, sql)
                runs = await sqlite_runs(sqlite)
                yield SessionStore(saver, locks, owners, health, registry, runs)
        finally:
            locks.close()
