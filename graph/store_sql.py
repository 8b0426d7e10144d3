"""What the turn saver needs of each store beyond LangGraph's saver API: delete a session's
checkpoints older than its latest, read the latest's id (cheaply, to check a cache), and
keep a session's messages as rows of their own (graph/history_rows.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # psycopg is imported only when DATABASE_URL names Postgres
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    from graph.sqlite_inline import InlineSqliteSaver

Row = tuple[str, bytes]
"""One message as the saver's serializer wrote it: (type, bytes)."""
Run = Callable[[str, tuple], Awaitable[list[tuple]]]
"""One statement of a small table beside the checkpoints (owners, registered backends):
its rows as tuples."""


def sqlite_runner(saver: InlineSqliteSaver) -> Run:
    """Statements on the SQLite saver's connection, inline (graph/sqlite_inline.py)."""

    async def run(sql: str, params: tuple) -> list[tuple]:
        return saver.run(sql, params)

    return run


def postgres_runner(pool: Any) -> Run:
    """Statements on a connection of the psycopg pool of the checkpoints."""

    async def run(sql: str, params: tuple) -> list[tuple]:
        async with pool.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(sql, params)
            rows = await cursor.fetchall() if cursor.description else []
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

    return run


class StoreSql(Protocol):
    async def setup(self) -> None:
        """Create the message table if it is not there."""

    async def prune(self, thread_id: str) -> None:
        """Delete the thread's checkpoints (and their writes) older than its latest."""

    async def latest_id(self, thread_id: str) -> str | None:
        """The id of the thread's latest checkpoint; None when it has none."""

    async def write_messages(
        self, thread_id: str, generation: str, start: int, rows: Sequence[Row]
    ) -> None:
        """Store `rows` as messages `start`, `start + 1`, ... of the generation, replacing
        any the generation held from `start` on (left by a commit that never finished)."""

    async def read_messages(self, thread_id: str, generation: str, count: int) -> list[Row]:
        """Messages 0 to `count - 1` of the generation, in order."""

    async def drop_generations(self, thread_id: str, keep: str | None) -> None:
        """Delete the thread's messages of every generation but `keep` (None: all)."""


MESSAGES_TABLE = """CREATE TABLE IF NOT EXISTS session_messages (
    thread_id TEXT NOT NULL, generation TEXT NOT NULL, seq INTEGER NOT NULL,
    type TEXT NOT NULL, blob {blob} NOT NULL, PRIMARY KEY (thread_id, generation, seq)){tail}"""
_CLEAR_FROM = (
    "DELETE FROM session_messages WHERE thread_id = {0} AND generation = {0} AND seq >= {0}"
)
_INSERT = "INSERT INTO session_messages VALUES ({0}, {0}, {0}, {0}, {0})"
_READ = """SELECT type, blob FROM session_messages WHERE thread_id = {0} AND generation = {0}
    AND seq < {0} ORDER BY seq"""
_DROP_OTHERS = "DELETE FROM session_messages WHERE thread_id = {0} AND generation <> {0}"
_DROP_ALL = "DELETE FROM session_messages WHERE thread_id = {0}"
# Checkpoint ids are time-ordered (uuid6): the largest is the latest, as the savers read it.
_LATEST_ID = """SELECT checkpoint_id FROM checkpoints WHERE thread_id = {0} AND checkpoint_ns = ''
    ORDER BY checkpoint_id DESC LIMIT 1"""
_SQLITE_OLDER_CHECKPOINTS = """DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id <
    (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?)"""
# Also the writes of a commit that died before its checkpoint was stored.
_SQLITE_UNKEPT_WRITES = """DELETE FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN
    (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?)"""


def _numbered(thread_id: str, generation: str, start: int, rows: Sequence[Row]) -> list[tuple]:
    return [(thread_id, generation, start + i, kind, blob) for i, (kind, blob) in enumerate(rows)]


class SqliteSql:
    """On the saver's own connection, inline (graph/sqlite_inline.py)."""

    def __init__(self, saver: InlineSqliteSaver) -> None:
        self.saver = saver

    async def setup(self) -> None:
        self.saver.run(MESSAGES_TABLE.format(blob="BLOB", tail=" WITHOUT ROWID"))

    async def prune(self, thread_id: str) -> None:
        with self.saver.cursor() as cursor:
            cursor.execute(_SQLITE_OLDER_CHECKPOINTS, (thread_id, thread_id))
            cursor.execute(_SQLITE_UNKEPT_WRITES, (thread_id, thread_id))

    async def latest_id(self, thread_id: str) -> str | None:
        rows = self.saver.run(_LATEST_ID.format("?"), (thread_id,))
        return rows[0][0] if rows else None

    async def write_messages(
        self, thread_id: str, generation: str, start: int, rows: Sequence[Row]
    ) -> None:
        with self.saver.cursor() as cursor:
            cursor.execute(_CLEAR_FROM.format("?"), (thread_id, generation, start))
            cursor.executemany(_INSERT.format("?"), _numbered(thread_id, generation, start, rows))

    async def read_messages(self, thread_id: str, generation: str, count: int) -> list[Row]:
        return self.saver.run(_READ.format("?"), (thread_id, generation, count))

    async def drop_generations(self, thread_id: str, keep: str | None) -> None:
        if keep is None:
            self.saver.run(_DROP_ALL.format("?"), (thread_id,))
        else:
            self.saver.run(_DROP_OTHERS.format("?"), (thread_id, keep))


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
        rows = await self._run(_LATEST_ID.format("%s"), (thread_id,))
        return rows[0]["checkpoint_id"] if rows else None

    async def write_messages(
        self, thread_id: str, generation: str, start: int, rows: Sequence[Row]
    ) -> None:
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(_CLEAR_FROM.format("%s"), (thread_id, generation, start))
            await cursor.executemany(
                _INSERT.format("%s"), _numbered(thread_id, generation, start, rows)
            )

    async def read_messages(self, thread_id: str, generation: str, count: int) -> list[Row]:
        rows = await self._run(_READ.format("%s"), (thread_id, generation, count))
        return [(row["type"], bytes(row["blob"])) for row in rows]

    async def drop_generations(self, thread_id: str, keep: str | None) -> None:
        if keep is None:
            await self._run(_DROP_ALL.format("%s"), (thread_id,))
        else:
            await self._run(_DROP_OTHERS.format("%s"), (thread_id, keep))

    async def _run(self, sql: str, params: tuple) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall() if cursor.description else []
