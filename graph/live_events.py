"""What a turn streams while it runs: text deltas, joined per network read, and server
tool activity (`tool_started`, `tool_finished`) for clients that watch the agent's tools.

The events go straight to whoever runs the turn, beside LangGraph's stream instead of
through it. Through LangGraph's `custom` stream mode an event cost 20-30 µs: its queue, the
stream's waiter, and a wake-up of the runner's `asyncio.wait` loop for every item. The API
runs the graph with a sink set here; the graph's own stream then carries only its state.
Without a sink (LangGraph Studio, `langgraph dev`) nodes write to the custom stream as before.

The model step yields the deltas of each network read of the model's stream together
(agent/llm/step.py); they leave as one event per run of one kind (content, reasoning).
Unloaded, a read carries one token and so does each event, sent as soon as it was read;
under load reads carry several, and the service writes (renders, sends through its layers)
once per read instead of once per token, so it falls behind less.
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

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.config import get_stream_writer

from agent.llm.step_io import Deltas
from agent.messages import content_text
from graph.turn import step_separator
from mcp_tools.builtin.browser.citations import CitationStream
from mcp_tools.builtin.browser.state import BrowserState

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


class StepText:
    """A model step's text on its way to the client: each network read's deltas leave as
    one event per run of one kind. A step's first content (reasoning) after earlier content
    (reasoning) in the same turn starts with the separator the joined turn has. With a
    session browser, content citations become links as they stream; `flush` sends a
    possible citation held back, at the step's end."""

    def __init__(
        self, write: Write, earlier: list[AIMessage], browser: BrowserState | None
    ) -> None:
        self._write = write
        self._separators = {
            kind: step_separator(kind, earlier) for kind in ("content", "reasoning")
        }
        self._cited = CitationStream(browser) if browser is not None else None

    def write(self, deltas: Deltas) -> None:
        runs: list[tuple[str, list[str]]] = []
        for kind, text in deltas:
            if separator := self._separators.get(kind):
                text, self._separators[kind] = separator + text, ""
            if kind == "content" and self._cited is not None:
                text = self._cited.feed(text)
            if not text:
                continue
            if runs and runs[-1][0] == kind:
                runs[-1][1].append(text)
            else:
                runs.append((kind, [text]))
        for kind, texts in runs:
            self._write({"kind": kind, "text": "".join(texts)})

    def flush(self) -> None:
        if self._cited is not None and (held := self._cited.flush()):
            self._write({"kind": "content", "text": held})


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
