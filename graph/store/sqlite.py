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

import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import ExitStack, asynccontextmanager, closing, contextmanager
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

from agent.errors import AgentError
from graph.store import SessionStore
from graph.store.backend_registry import sqlite_registry
from graph.store.background_runs import sqlite_runs
from graph.store.health import StoreHealth, database_unavailable, describe
from graph.store.locks import DeploymentLimit, FileSessionLocks
from graph.store.owners import sqlite_owners
from graph.store.sql import (
    CLEAR_FROM,
    DROP_ALL,
    DROP_OTHERS,
    INSERT,
    LATEST_ID,
    MESSAGES_TABLE,
    READ,
    Row,
    numbered,
)
from graph.store.turn_saver import TurnSaver

logger = logging.getLogger(__name__)


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


_SQLITE_OLDER_CHECKPOINTS = """DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id <
    (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?)"""
# Also the writes of a commit that died before its checkpoint was stored.
_SQLITE_UNKEPT_WRITES = """DELETE FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN
    (SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?)"""


class SqliteSql:
    """On the saver's own connection, inline (graph/store/sqlite.py)."""

    def __init__(self, saver: InlineSqliteSaver) -> None:
        self.saver = saver

    async def setup(self) -> None:
        self.saver.run(MESSAGES_TABLE.format(blob="BLOB", tail=" WITHOUT ROWID"))

    async def prune(self, thread_id: str) -> None:
        with self.saver.cursor() as cursor:
            cursor.execute(_SQLITE_OLDER_CHECKPOINTS, (thread_id, thread_id))
            cursor.execute(_SQLITE_UNKEPT_WRITES, (thread_id, thread_id))

    async def latest_id(self, thread_id: str) -> str | None:
        rows = self.saver.run(LATEST_ID.format("?"), (thread_id,))
        return rows[0][0] if rows else None

    async def write_messages(
        self, thread_id: str, generation: str, start: int, rows: Sequence[Row]
    ) -> None:
        with self.saver.cursor() as cursor:
            cursor.execute(CLEAR_FROM.format("?"), (thread_id, generation, start))
            cursor.executemany(INSERT.format("?"), numbered(thread_id, generation, start, rows))

    async def read_messages(self, thread_id: str, generation: str, count: int) -> list[Row]:
        return self.saver.run(READ.format("?"), (thread_id, generation, count))

    async def drop_generations(self, thread_id: str, keep: str | None) -> None:
        if keep is None:
            self.saver.run(DROP_ALL.format("?"), (thread_id,))
        else:
            self.saver.run(DROP_OTHERS.format("?"), (thread_id, keep))


class SqliteHealth(StoreHealth):
    """A SQLite file: an I/O error is a 503, and so is the file deleted or replaced under
    the running service (its writes would go to an unlinked file and be lost)."""

    def __init__(self, checkpointer: Any, path: Path) -> None:
        super().__init__(checkpointer)
        self.path = path
        self.identity = _identity(path)
        self.noticed = False  # whether the log has said that the file is gone

    async def require(self) -> None:
        """Raise the 503 when the path no longer names the file this process opened."""
        try:
            now = _identity(self.path)
        except FileNotFoundError:
            now = None
        if now == self.identity:
            return
        how = "deleted" if now is None else "replaced by another file"
        error = database_unavailable(
            f"the SQLite file {self.path} was {how} while the service was running; "
            "restore it and restart the service"
        )
        if not self.noticed:
            logger.error("%s", error.message)
            self.noticed = True
        raise error

    errors = (sqlite3.OperationalError,)  # I/O errors, a full disk, a locked file

    async def translate(self, exc: BaseException) -> AgentError | None:
        """A failure of the file as the 503."""
        if isinstance(exc, self.errors):
            return database_unavailable(describe(exc))
        return None


def _identity(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def sqlite_path(database_url: str) -> Path:
    """The file named by a sqlite:///PATH URL."""
    return Path(database_url.removeprefix("sqlite:///"))


@asynccontextmanager
async def open_sqlite_store(
    database_url: str, lock_timeout: float, deployment: DeploymentLimit | None
) -> AsyncIterator[SessionStore]:
    """The store in the SQLite file of `database_url`; processes on one host may share it
    (turns on a session are serialised across them by a lock file beside it)."""
    path = sqlite_path(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = path.with_name(path.name + ".lock")
    locks = FileSessionLocks(lock_file, lock_timeout, deployment=deployment)
    try:
        with ExitStack() as opened:
            async with locks.setting_up():
                sqlite = opened.enter_context(open_inline_saver(path))
                owners = await sqlite_owners(sqlite)
                registry = await sqlite_registry(sqlite)
                sql = SqliteSql(sqlite)
                await sql.setup()
                runs = await sqlite_runs(sqlite)
            health = SqliteHealth(sqlite, path)
            yield SessionStore(TurnSaver(sqlite, sql), locks, owners, health, registry, runs)
    finally:
        locks.close()
