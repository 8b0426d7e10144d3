"""What the turn saver needs of each store beyond LangGraph's saver API: delete a session's
checkpoints older than its latest, read the latest's id (cheaply, to check a cache), and
keep a session's messages as rows of their own (graph/store/history_rows.py). Each backend
implements it (graph/store/sqlite.py, graph/store/postgres.py) with the statements here,
written with its own placeholder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from graph.store.sqlite import InlineSqliteSaver

Row = tuple[str, bytes]
"""One message as the saver's serializer wrote it: (type, bytes)."""
Run = Callable[[str, tuple], Awaitable[list[tuple]]]
"""One statement of a small table beside the checkpoints (owners, registered backends):
its rows as tuples."""


def sqlite_runner(saver: InlineSqliteSaver) -> Run:
    """Statements on the SQLite saver's connection, inline (graph/store/sqlite.py)."""

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
CLEAR_FROM = (
    "DELETE FROM session_messages WHERE thread_id = {0} AND generation = {0} AND seq >= {0}"
)
INSERT = "INSERT INTO session_messages VALUES ({0}, {0}, {0}, {0}, {0})"
READ = """SELECT type, blob FROM session_messages WHERE thread_id = {0} AND generation = {0}
    AND seq < {0} ORDER BY seq"""
DROP_OTHERS = "DELETE FROM session_messages WHERE thread_id = {0} AND generation <> {0}"
DROP_ALL = "DELETE FROM session_messages WHERE thread_id = {0}"
# Checkpoint ids are time-ordered (uuid6): the largest is the latest, as the savers read it.
LATEST_ID = """SELECT checkpoint_id FROM checkpoints WHERE thread_id = {0} AND checkpoint_ns = ''
    ORDER BY checkpoint_id DESC LIMIT 1"""


def numbered(thread_id: str, generation: str, start: int, rows: Sequence[Row]) -> list[tuple]:
    return [(thread_id, generation, start + i, kind, blob) for i, (kind, blob) in enumerate(rows)]
