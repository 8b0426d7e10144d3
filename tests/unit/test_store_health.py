"""The SQLite store's health checks, on real files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.errors import AgentError
from graph.store.health import describe
from graph.store.sqlite import SqliteHealth


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
