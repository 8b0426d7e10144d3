"""The store's health checks and the SQLite lock file, on real files in one process."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

import pytest

from agent.errors import AgentError
from graph.sqlite_lock import SqliteInUse, acquire, lock_path, release, sqlite_lock
from graph.store_health import SqliteHealth, describe


def _locked_elsewhere(database: Path) -> bool:
    """Whether another open file description (as another process would have) is refused."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_lock_is_held_until_the_last_holder_releases_it(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    with sqlite_lock(database):
        acquire(database)  # serve takes it, then the app's store again: same process
        assert _locked_elsewhere(database)
        release(database)
        assert _locked_elsewhere(database)
    assert not _locked_elsewhere(database)


def test_a_lock_held_by_another_descriptor_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(SqliteInUse, match="use Postgres") as refused:
            acquire(database)
        assert str(database) in str(refused.value)
    finally:
        os.close(fd)


async def test_a_deleted_or_replaced_file_is_noticed(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    sqlite3.connect(database).close()
    health = SqliteHealth(None, database)
    await health.require()
    replacement = tmp_path / "other.db"
    sqlite3.connect(replacement).close()
    replacement.replace(database)
    with pytest.raises(AgentError, match="replaced by another file") as replaced:
        await health.require()
    assert replaced.value.code == "database_unavailable"
    database.unlink()
    with pytest.raises(AgentError, match="was deleted"):
        await health.require()


async def test_io_errors_are_database_unavailable(tmp_path: Path) -> None:
    database = tmp_path / "s.db"
    sqlite3.connect(database).close()
    health = SqliteHealth(None, database)
    known = await health.translate(sqlite3.OperationalError("disk I/O error"))
    assert known is not None and known.code == "database_unavailable"
    assert "disk I/O error" in known.message
    assert await health.translate(ValueError("not the database's")) is None


def test_descriptions_mask_url_passwords() -> None:
    text = describe(RuntimeError("cannot reach postgresql://agent:hunter2@db:5432/x"))
    assert "hunter2" not in text and "postgresql://agent:****@db:5432/x" in text
