"""LangGraph's SQLite saver with its async methods run inline, on the event loop's thread.

aiosqlite runs each call (a cursor, an execute, a fetch, a close, a commit) on a thread of
its own and wakes the event loop for its result: a new session's turn made about 110 such
round trips, each a thread hand-off under the GIL, and they were the largest part of what
a turn cost beyond the model call. On a local file in WAL mode (commits append to the log,
no fsync; see `write_ahead`) each statement takes microseconds, less than the hand-off;
the work of decoding a checkpoint ran on the loop's thread already.

What blocks the loop now: the statements themselves; SQLite's WAL checkpoint, which runs
in the commit that fills the log past 1,000 pages and syncs the file to disk; and, with
several processes on the file, a write waiting for another process's write to end (up to
sqlite3's 5 s busy timeout; each write lasts milliseconds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver


class InlineSqliteSaver(SqliteSaver):
    """`SqliteSaver` whose async API calls its sync one."""

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        return self.get_delta_channel_history(config=config, channels=channels)

    def run(self, sql: str, params: tuple = ()) -> list[tuple]:
        """One statement of our own (owners, pruning) on the saver's connection, committed."""
        with self.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@contextmanager
def open_inline_saver(path: Path) -> Iterator[InlineSqliteSaver]:
    """The saver on the SQLite file at `path`, in WAL mode, its tables created."""
    with closing(sqlite3.connect(str(path), check_same_thread=False)) as conn:
        write_ahead(conn)
        saver = InlineSqliteSaver(conn)
        saver.setup()
        yield saver


def write_ahead(conn: sqlite3.Connection) -> None:
    """WAL journal, synced at checkpoints: a commit costs one append instead of a rollback
    journal written, synced and deleted. A commit survives the process dying; the last
    commits before an OS crash or power loss may be lost (SQLite's documented trade-off)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
