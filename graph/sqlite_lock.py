"""One service process per SQLite file: a lock file beside the database, held while the
process runs (SQLite sessions are serialised per process only, so a second process on the
same file would interleave turns and lose some)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Held lock files of this process, by path: each has one descriptor and a count of holders.
# flock belongs to an open file description, so a second open() of the same file in this
# process would conflict with the first; `oss-agent serve` takes the lock before the app
# starts, and the app's store takes it again.
_held: dict[Path, tuple[int, int]] = {}


class SqliteInUse(RuntimeError):
    """Another process serves the same SQLite file."""


def lock_path(database: Path) -> Path:
    """The lock file of a database file."""
    return database.with_name(database.name + ".lock")


def acquire(database: Path) -> None:
    """Take the lock of `database` for this process, or raise SqliteInUse."""
    path = lock_path(database).resolve()
    if path in _held:
        fd, holders = _held[path]
        _held[path] = (fd, holders + 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SqliteInUse(
            f"the session database {database} is already in use by another oss-agent "
            f"process (it holds {path}). SQLite serves one process: stop the other one, "
            "give this one its own DATABASE_URL, or use Postgres (DATABASE_URL="
            "postgresql://...) to run several processes on one set of sessions."
        ) from None
    _held[path] = (fd, 1)


def release(database: Path) -> None:
    """Give up one hold of the lock; the last one closes the lock file."""
    path = lock_path(database).resolve()
    fd, holders = _held[path]
    if holders > 1:
        _held[path] = (fd, holders - 1)
        return
    del _held[path]
    os.close(fd)  # closing the only descriptor releases the flock


@contextmanager
def sqlite_lock(database: Path) -> Iterator[None]:
    """Hold the lock of `database` for the life of the block."""
    acquire(database)
    try:
        yield
    finally:
        release(database)
