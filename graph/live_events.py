"""What a turn streams while it runs: text deltas, joined per event-loop tick, and server
tool activity (`tool_started`, `tool_finished`) for clients that watch the agent's tools.

The events go straight to whoever runs the turn, beside LangGraph's stream instead of
through it. Through LangGraph's `custom` stream mode an event cost 20-30 µs: its queue, the
stream's waiter, and a wake-up of the runner's `asyncio.wait` loop for every item. The API
runs the graph with a sink set here; the graph's own stream then carries only its state.
Without a sink (LangGraph Studio, `langgraph dev`) nodes write to the custom stream as before.

Everything one network read of the model's stream brings is parsed in one tick; its deltas
leave as one event per run of one kind (content, reasoning) when the tick ends. Unloaded, a
read carries one token and so does each event, sent as soon as it was read; under load
reads carry several, and the service writes (renders, sends through its layers) once per
read instead of once per token, so it falls behind less.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.config import get_stream_writer

from agent.messages import content_text

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


class JoinedDeltas:
    """Call with (kind, text); `flush` writes what is held at once (a step's end)."""

    def __init__(self, write: Callable[[dict[str, Any]], None]) -> None:
        self._write = write
        self._held: list[tuple[str, list[str]]] = []
        self._scheduled = False

    def __call__(self, kind: str, text: str) -> None:
        if self._held and self._held[-1][0] == kind:
            self._held[-1][1].append(text)
        else:
            self._held.append((kind, [text]))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._tick_ended)

    def flush(self) -> None:
        held, self._held = self._held, []
        for kind, texts in held:
            self._write({"kind": kind, "text": "".join(texts)})

    def _tick_ended(self) -> None:
        self._scheduled = False
        self.flush()


RESULT_EXCERPT_CHARS = 500
ACTIVITY_KINDS = frozenset({"tool_started", "tool_finished"})


def started_event(call: dict[str, Any]) -> dict[str, Any]:
    """The event sent when a server tool call begins."""
    arguments = json.dumps(call.get("args") or {}, ensure_ascii=False)
    return {"kind": "tool_started", "id": call["id"], "name": call["name"], "arguments": arguments}


def finished_event(call: dict[str, Any], message: ToolMessage, seconds: float) -> dict[str, Any]:
    """The event sent when it ends: a result excerpt, or the error the model was told."""
    text = content_text(message.content)
    excerpt = text[:RESULT_EXCERPT_CHARS]
    failed = message.status == "error"
    return {
        "kind": "tool_finished",
        "id": call["id"],
        "name": call["name"],
        "result": None if failed else excerpt,
        "error": excerpt if failed else None,
        "duration_ms": round(seconds * 1000),
    }


async def watched(
    write: Callable[[dict[str, Any]], None],
    call: dict[str, Any],
    answer: Awaitable[ToolMessage],
) -> ToolMessage:
    """Await `answer`, writing the started and finished events around it."""
    write(started_event(call))
    began = time.monotonic()
    message = await answer
    write(finished_event(call, message, time.monotonic() - began))
    return message
