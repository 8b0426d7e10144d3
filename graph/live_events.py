"""A turn's live events (text deltas, tool activity) handed straight to whoever runs the
turn, beside LangGraph's stream instead of through it.

Through LangGraph's `custom` stream mode an event cost 20-30 µs: its queue, the stream's
waiter, and a wake-up of the runner's `asyncio.wait` loop for every item. The API runs the
graph with a sink set here; the graph's own stream then carries only its state. Without a
sink (LangGraph Studio, `langgraph dev`) nodes write to the custom stream as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

from langgraph.config import get_stream_writer

Write = Callable[[dict[str, Any]], None]
LIVE = "custom"
"""The mode name live events carry, the one LangGraph's stream gives them."""

_SINK: ContextVar[Write | None] = ContextVar("live_event_sink", default=None)


def live_writer() -> Write:
    """Where a node writes the turn's live events."""
    return _SINK.get() or get_stream_writer()


async def with_live_events(
    items: AsyncIterator[tuple[str, Any]],
) -> AsyncIterator[tuple[str, Any]]:
    """Run `items` (a graph's stream, not yet started) on a task of its own with a live-event
    sink set, yielding (LIVE, event) and its own items in the order they happened.
    Closing this generator cancels the run and waits until the graph has cleaned up."""
    feed = _Feed()
    token = _SINK.set(lambda event: feed.put((LIVE, event)))
    try:
        run = asyncio.create_task(_pump(items, feed))  # copies the context: the sink
    finally:
        _SINK.reset(token)
    try:
        while (item := await feed.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        run.cancel()
        with contextlib.suppress(BaseException):
            await run


_END = object()


async def _pump(items: AsyncIterator[tuple[str, Any]], feed: _Feed) -> None:
    try:
        async with contextlib.aclosing(items):  # type: ignore[type-var]
            async for item in items:
                feed.put(item)
    except BaseException as exc:
        feed.put(exc)
        raise
    feed.put(_END)


class _Feed:
    """A queue with one reader: append, and wake the reader if it waits."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()
