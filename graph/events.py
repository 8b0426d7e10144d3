"""The turn's event channel: what the nodes stream (text deltas, tool activity) on its way to
the API, in order, without going through LangGraph's stream machinery for every token.

The API puts a `TurnEvents` on the turn's `Context`; the nodes write to it through
`event_writer`. Without one (Studio, `langgraph dev`) events go to LangGraph's "custom"
stream as before.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from langgraph.config import get_stream_writer

from graph.context import Context

Item = tuple[str, Any]
"""(stream mode, data): ("custom", event) or ("values", state), as `graph.astream` yields."""
TEXT_KINDS = ("content", "reasoning")
_END: Item = ("end", None)


class TurnEvents:
    """Items written by the turn (never blocking) and read by one reader, in order. Text
    deltas of one kind written before the reader took the last of them (while it was busy
    writing to the client) come out as one: a lone delta is read at once."""

    def __init__(self) -> None:
        self._items: deque[Item] = deque()
        self._texts: list[str] = []
        """Pieces of the last item's text not joined yet (the last item is a text delta)."""
        self._ready = asyncio.Event()

    def write(self, event: dict[str, Any]) -> None:
        """A node's event (the "custom" stream's payload)."""
        last = self._items[-1] if self._items else None
        if self._texts and last is not None and last[1]["kind"] == event.get("kind"):
            self._texts.append(event["text"])
        else:
            self.put(("custom", event))

    def put(self, item: Item) -> None:
        self._join_texts()
        self._items.append(item)
        mode, data = item
        is_text = mode == "custom" and data.get("kind") in TEXT_KINDS and "text" in data
        self._texts = [data["text"]] if is_text else []
        self._ready.set()

    async def get(self) -> Item:
        """The next item, waiting for one if there is none."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        if len(self._items) == 1:
            self._join_texts()
            self._texts = []
        return self._items.popleft()

    def _join_texts(self) -> None:
        if len(self._texts) > 1:
            mode, data = self._items[-1]
            self._items[-1] = (mode, {**data, "text": "".join(self._texts)})
            self._texts = [self._items[-1][1]["text"]]


def event_writer(context: Context) -> Callable[[dict[str, Any]], None]:
    """Where a node writes its events: the turn's channel, else LangGraph's "custom" stream."""
    channel = context.events
    return channel.write if isinstance(channel, TurnEvents) else get_stream_writer()


async def stream_with_events(
    graph: Any, graph_input: Any, config: dict[str, Any], context: Context, **options: Any
) -> AsyncIterator[Item]:
    """What `graph.astream(..., stream_mode=["custom", "values"])` yields, in the same order,
    the events carried by a `TurnEvents`: the graph runs in a task of its own that adds its
    states to the same channel. Closing this early stops the graph before it returns."""
    channel = TurnEvents()
    run_context = replace(context, events=channel)

    async def run() -> None:
        async for item in graph.astream(
            graph_input, config, context=run_context, stream_mode=["values"], **options
        ):
            channel.put(item)

    task = asyncio.create_task(run())
    task.add_done_callback(lambda _: channel.put(_END))
    try:
        while (item := await channel.get()) is not _END:
            yield item
        await task  # the turn's error, if it failed
    finally:
        await _stopped(task)


async def _stopped(task: asyncio.Task[None]) -> None:
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: raised above, or superseded by the caller's own exit
