"""The streaming hot path's pieces: pre-rendered text chunks and the turn's event channel."""

from __future__ import annotations

import asyncio
import json

import pytest

from api.streaming import ChunkWriter, delta_chunk
from graph.events import TurnEvents

TEXTS = ["tok", 'a "quoted" \\ back\nslash', "héllo 世界 🙂", "</tool_call>", " "]


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_a_text_chunk_is_the_chunk_json_would_write(text: str, include_usage: bool) -> None:
    writer = ChunkWriter("gpt-oss-20b", include_usage)
    assert writer.text("content", text) == writer.chunk({"content": text})
    frame = writer.text("content", text)
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    body = json.loads(frame[6:])
    assert body["choices"][0]["delta"] == {"content": text}
    assert ("usage" in body) is include_usage


def test_reasoning_goes_under_both_field_names_and_empty_text_is_no_chunk() -> None:
    writer = ChunkWriter("m", False)
    frame = delta_chunk(writer, {"kind": "reasoning", "text": "think"})
    assert frame is not None
    delta = json.loads(frame[6:])["choices"][0]["delta"]
    assert delta == {"reasoning_content": "think", "reasoning": "think"}
    assert delta_chunk(writer, {"kind": "content", "text": ""}) is None


async def test_a_lone_delta_is_read_at_once() -> None:
    events = TurnEvents()
    reader = asyncio.create_task(events.get())
    await asyncio.sleep(0)
    events.write({"kind": "content", "text": "a"})
    assert await asyncio.wait_for(reader, 1) == ("custom", {"kind": "content", "text": "a"})


async def test_deltas_written_while_the_reader_was_busy_come_out_joined_in_order() -> None:
    events = TurnEvents()
    for text in ("a", "b", "c"):
        events.write({"kind": "reasoning", "text": text})
    for text in ("d", "e"):
        events.write({"kind": "content", "text": text})
    activity = {"kind": "tool_started", "name": "clock"}
    events.write(activity)
    events.write({"kind": "content", "text": "f"})
    events.put(("values", {"messages": []}))
    events.write({"kind": "content", "text": "g"})
    got = [await events.get() for _ in range(6)]
    assert got == [
        ("custom", {"kind": "reasoning", "text": "abc"}),
        ("custom", {"kind": "content", "text": "de"}),
        ("custom", activity),
        ("custom", {"kind": "content", "text": "f"}),
        ("values", {"messages": []}),
        ("custom", {"kind": "content", "text": "g"}),
    ]


async def test_a_delta_read_is_never_changed_by_later_writes() -> None:
    events = TurnEvents()
    events.write({"kind": "content", "text": "a"})
    events.write({"kind": "content", "text": "b"})
    first = await events.get()
    events.write({"kind": "content", "text": "c"})
    assert first == ("custom", {"kind": "content", "text": "ab"})
    assert await events.get() == ("custom", {"kind": "content", "text": "c"})
