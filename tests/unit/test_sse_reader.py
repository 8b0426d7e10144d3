"""The model server's SSE stream read from raw bytes (agent/llm/http.py `SseReader`):
the same events whatever the network reads cut, data lines joined, other fields skipped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.llm.failures import UpstreamMalformed
from agent.llm.http import SseReader, _pieces

datas = st.lists(
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=20)
    .map(str.strip)
    .filter(bool),
    min_size=1,
    max_size=3,
)


def wire(events: list[list[str]], newline: bytes) -> bytes:
    """Events as a server writes them: a comment now and then, `data:` lines, a blank line."""
    out = b": keep-alive" + newline
    for lines in events:
        out += b"event: message" + newline
        out += b"".join(b"data: " + line.encode() + newline for line in lines)
        out += newline
    return out


def read(chunks: list[bytes]) -> list[bytes]:
    reader = SseReader()
    events = [data for chunk in chunks for data in reader.feed(chunk)]
    return events + reader.end()


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({p % (len(data) + 1) for p in points})
    return [data[a:b] for a, b in zip([0, *edges], [*edges, len(data)], strict=True)]


@given(st.lists(datas, min_size=1, max_size=8), st.lists(st.integers(0, 10_000)), st.booleans())
def test_any_cut_of_the_bytes_gives_the_same_events(
    events: list[list[str]], points: list[int], crlf: bool
) -> None:
    data = wire(events, b"\r\n" if crlf else b"\n")
    expected = [("\n".join(lines)).strip().encode() for lines in events]
    assert read(cut(data, points)) == expected


def test_an_event_the_body_ends_without_a_blank_line_after_is_read() -> None:
    assert read([b'data: {"a": 1}\n\ndata: [DONE]']) == [b'{"a": 1}', b"[DONE]"]


def test_a_json_object_over_several_data_lines_is_one_event() -> None:
    assert read([b'data: {"a":\ndata: 1}\n\n']) == [b'{"a":\n1}']


def test_data_lines_without_blank_lines_between_them_are_read_one_by_one() -> None:
    joined = read([b'data: {"a": 1}\ndata: {"b": 2}\ndata: [DONE]\n'])
    assert _pieces(joined) == [b'{"a": 1}', b'{"b": 2}', b"[DONE]"]


def test_a_line_that_is_not_sse_is_refused_by_name() -> None:
    with pytest.raises(UpstreamMalformed, match="not SSE: <html>"):
        read([b"<html>\n"])
