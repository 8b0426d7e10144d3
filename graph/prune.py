"""Keep only a session's latest checkpoint: how each store deletes the older ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.turn_saver import Prune

if TYPE_CHECKING:  # psycopg is imported only when DATABASE_URL names Postgres
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

# Checkpoint ids are time-ordered (uuid6): the largest is the latest, as the saver reads it.
_SQLITE_OLDER_CHECKPOINTS = """DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id <
    (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?)"""
# Also the writes of a commit that died before its checkpoint was stored.
_SQLITE_UNKEPT_WRITES = """DELETE FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN
    (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?)"""


def sqlite_prune(saver: AsyncSqliteSaver) -> Prune:
    """Both deletes in one transaction on the saver's own connection."""

    async def prune(thread_id: str) -> None:
        async with saver.lock, saver.conn.cursor() as cursor:
            await cursor.execute(_SQLITE_OLDER_CHECKPOINTS, (thread_id, thread_id))
            await cursor.execute(_SQLITE_UNKEPT_WRITES, (thread_id, thread_id))
            await saver.conn.commit()

    return prune


def postgres_prune(saver: AsyncPostgresSaver) -> Prune:
    """The saver's own keep_latest prune (checkpoints, their writes, unreferenced blobs)."""

    async def prune(thread_id: str) -> None:
        await saver.aprune([thread_id], strategy="keep_latest")

    return prune
