"""Incremental text output with whole-output semantics.

A sink receives a channel's text in pieces, split into segments (one per harmony
message, or per run of content between tool calls). Its total output is always
`separator.join(s.strip() for s in segments if s.strip())`, however the pieces are
cut: leading whitespace of a segment is dropped, trailing whitespace is held back
until more text follows, and the separator is written only between non-empty
segments. That makes streamed output equal to the full parse for every split.
"""

from __future__ import annotations


class TextSink:
    def __init__(self, separator: str = "\n") -> None:
        self._separator = separator
        self._pieces: list[str] = []
        self._in_segment = False
        self._pending_space = ""

    def push(self, text: str) -> str:
        """Add text to the current segment; return what can be emitted now."""
        if not text:
            return ""
        out: list[str] = []
        if not self._in_segment:
            text = text.lstrip()
            if not text:
                return ""
            if self._pieces:
                out.append(self._separator)
            self._in_segment = True
        body = text.rstrip()
        if body:
            out.append(self._pending_space)
            out.append(body)
            self._pending_space = text[len(body) :]
        else:
            self._pending_space += text
        emitted = "".join(out)
        if emitted:
            self._pieces.append(emitted)
        return emitted

    def end_segment(self) -> None:
        """Close the current segment; its trailing whitespace is dropped."""
        self._in_segment = False
        self._pending_space = ""

    @property
    def empty(self) -> bool:
        return not self._pieces

    @property
    def text(self) -> str:
        return "".join(self._pieces)
