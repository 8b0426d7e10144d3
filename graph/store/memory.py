"""memory://: a store in this process alone, gone when it stops (tests, trying things out)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.memory import InMemorySaver

from graph.store import SessionStore
from graph.store.background_runs import memory_runs
from graph.store.health import StoreHealth
from graph.store.locks import SessionLocks
from graph.store.owners import MemoryOwners
from graph.store.turn_saver import TurnSaver


@asynccontextmanager
async def open_memory_store(lock_timeout: float) -> AsyncIterator[SessionStore]:
    """Sessions in memory; no registered backends (one process alone would see them)."""
    saver = TurnSaver(InMemorySaver(), sql=None)
    locks, owners, health = SessionLocks(lock_timeout), MemoryOwners(), StoreHealth(saver)
    yield SessionStore(saver, locks, owners, health, None, await memory_runs())
