"""What the turn saver needs of each store beyond LangGraph's saver API: delete a session's
checkpoints older than its latest, and read the latest's id (cheaply, to check a cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # psycopg is imported only when DATABASE_URL names Postgres
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


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
    """On the saver's own connection, under its lock."""

    def __init__(self, saver: AsyncSqliteSaver) -> None:
        self.saver = saver

    async def prune(self, thread_id: str) -> None:
        async with self.saver.lock, self.saver.conn.cursor() as cursor:
            await cursor.execute(_SQLITE_OLDER_CHECKPOINTS, (thread_id, thread_id))
            await cursor.execute(_SQLITE_UNKEPT_WRITES, (thread_id, thread_id))
            await self.saver.conn.commit()

    async def latest_id(self, thread_id: str) -> str | None:
        query = _LATEST_ID.format("?")
        async with self.saver.lock, self.saver.conn.execute(query, (thread_id,)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None


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
