"""What the turn saver needs of each store beyond LangGraph's saver API: delete a session's
checkpoints older than its latest, and read the latest's id (cheaply, to check a cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # psycopg is imported only when DATABASE_URL names Postgres
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from graph.sqlite_inline import InlineSqliteSaver


class StoreSql(Protocol):
    async def prune(self, thread_id: str) -> None:
        """Delete the thread's checkpoints (and their writes) older than its latest."""

    async def latest_id(self, thread_id: str) -> str | None:
        """The id of the thread's latest checkpoint; None when it has none."""


# Checkpoint ids are time-ordered (uuid6): the largest is the latest, as the savers read it.
_LATEST_ID = """SELECT checkpoint_id FROM checkpoints WHERE thread_id = {0} AND checkpoint_ns = ''
    ORDER BY checkpoint_id DESC LIMIT 1"""
_SQLITE_OLDER_CHECKPOINTS = """DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id <
    (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?)"""
# Also the writes of a commit that died before its checkpoint was stored.
_SQLITE_UNKEPT_WRITES = """DELETE FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN
    (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?)"""


class SqliteSql:
    """On the saver's own connection, inline (graph/sqlite_inline.py)."""

    def __init__(self, saver: InlineSqliteSaver) -> None:
        self.saver = saver

    async def prune(self, thread_id: str) -> None:
        with self.saver.cursor() as cursor:
            cursor.execute(_SQLITE_OLDER_CHECKPOINTS, (thread_id, thread_id))
            cursor.execute(_SQLITE_UNKEPT_WRITES, (thread_id, thread_id))

    async def latest_id(self, thread_id: str) -> str | None:
        rows = self.saver.run(_LATEST_ID.format("?"), (thread_id,))
        return rows[0][0] if rows else None


class PostgresSql:
    """The saver's own keep_latest prune (checkpoints, their writes, unreferenced blobs)."""

    def __init__(self, saver: AsyncPostgresSaver) -> None:
        self.saver = saver

    async def prune(self, thread_id: str) -> None:
        await self.saver.aprune([thread_id], strategy="keep_latest")

    async def latest_id(self, thread_id: str) -> str | None:
        pool: Any = self.saver.conn
        async with pool.connection() as conn:
            cursor = await conn.execute(_LATEST_ID.format("%s"), (thread_id,))
            row = await cursor.fetchone()
        return row["checkpoint_id"] if row else None
