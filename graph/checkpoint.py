"""The session store: one place decides SQLite, Postgres or memory from DATABASE_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


def sqlite_path(database_url: str) -> Path:
    """The file named by a sqlite:///PATH URL."""
    return Path(database_url.removeprefix("sqlite:///"))


@asynccontextmanager
async def open_checkpointer(database_url: str) -> AsyncIterator[BaseCheckpointSaver]:
    """Open the checkpointer named by `database_url` for the life of the service."""
    if database_url.startswith("memory://"):
        yield InMemorySaver()
        return
    path = sqlite_path(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.setup()
        yield saver
