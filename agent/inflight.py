"""The model calls a turn has in flight, so that a turn given up (the client went away)
can stop them at once: LangGraph cancels a closed run's nodes only when its own cleanup
gets to them."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

_in_flight: ContextVar[set[asyncio.Task[Any]] | None] = ContextVar("calls_in_flight", default=None)


def track_calls() -> set[asyncio.Task[Any]]:
    """From now on, the tasks of model calls started in this context (and the tasks it
    starts, such as a graph's nodes) are kept in the returned set while they run."""
    calls: set[asyncio.Task[Any]] = set()
    _in_flight.set(calls)
    return calls


def cancel_calls(calls: set[asyncio.Task[Any]]) -> None:
    """Cancel the model calls still running: their connections close at once."""
    for task in list(calls):
        task.cancel()


def calls_in_flight() -> set[asyncio.Task[Any]] | None:
    """The set a model call registers its task in, when its turn tracks calls."""
    return _in_flight.get()
