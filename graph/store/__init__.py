"""The session store: one place decides SQLite, Postgres or memory from DATABASE_URL.

Each backend is one module (sqlite.py, postgres.py, memory.py) that opens the same parts:
the turn saver (turn_saver.py: turns stored whole, their messages as rows: history_rows.py),
the session locks (locks.py), the sessions' owners (owners.py), the health (health.py), the
registered backends (backend_registry.py) and the background runs (background_runs.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from graph.store.backend_registry import BackendRegistry
from graph.store.background_runs import RunStore
from graph.store.health import StoreHealth
from graph.store.locks import DeploymentLimit, SessionLocks
from graph.store.owners import Owners
from graph.store.turn_saver import TurnSaver


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
    """Background runs (graph/store/background_runs.py), in the same database."""


def store_errors(database_url: str) -> tuple[type[Exception], ...]:
    """The exception types the store named by `database_url` fails with (the API answers
    them with a 503 instead of a 500)."""
    if _is_postgres(database_url):
        from graph.store.postgres import PostgresHealth

        return PostgresHealth.errors
    if database_url.startswith("memory://"):
        return ()
    from graph.store.sqlite import SqliteHealth

    return SqliteHealth.errors


def _is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql://", "postgres://"))


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
    if _is_postgres(database_url):
        from graph.store.postgres import open_postgres_store  # psycopg only when used

        lock_pool_size = max(pool_size, max_turns)
        opened = open_postgres_store(
            database_url, lock_timeout, pool_size, lock_pool_size, connect_timeout, deployment
        )
    elif database_url.startswith("memory://"):
        from graph.store.memory import open_memory_store

        opened = open_memory_store(lock_timeout)
    else:
        from graph.store.sqlite import open_sqlite_store

        opened = open_sqlite_store(database_url, lock_timeout, deployment)
    async with opened as store:
        yield store
