"""The Postgres session store: a checkpointer pool, a lock pool, migrations one at a time.

Imported only when DATABASE_URL names Postgres (psycopg takes a while to import).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from agent.settings import mask_url_password
from graph.backend_registry import BackendRegistry, postgres_registry
from graph.background_runs import RunStore, postgres_runs
from graph.locks import DeploymentLimit, PostgresSessionLocks
from graph.owners import Owners, postgres_owners
from graph.postgres_health import PostgresHealth, probe
from graph.store_sql import PostgresSql
from graph.turn_saver import TurnSaver

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
) -> AsyncIterator[
    tuple[TurnSaver, PostgresSessionLocks, Owners, PostgresHealth, BackendRegistry, RunStore]
]:
    """The checkpointer, the session locks, the session owners, the health, the backend
    registry and the background runs of the Postgres database at `url`. `lock_pool_size` is
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
        yield TurnSaver(saver, sql), locks, owners, health, registry, runs


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
