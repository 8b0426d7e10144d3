"""The streaming hot path's pieces: pre-rendered text chunks."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from api.chat_render import ChunkWriter, delta_chunk
from api.turns import Delta

TEXTS = ["tok", 'a "quoted" \\ back\nslash', "héllo 世界 🙂", "</tool_call>", " "]


@given(st.text() | st.sampled_from(TEXTS), st.booleans())
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
    frame = delta_chunk(writer, Delta("reasoning", "think"))
    assert frame is not None
    delta = json.loads(frame[6:])["choices"][0]["delta"]
    assert delta == {"reasoning_content": "think", "reasoning": "think"}
    assert delta_chunk(writer, Delta("content", "")) is None
