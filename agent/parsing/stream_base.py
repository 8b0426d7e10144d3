"""Base class of the dialect stream parsers: buffering, output sinks, the never-raise loop.

A subclass implements `_step(eof)`: handle the text at `self._pos` and return True if
it made progress, False if it must wait for more text (at end of input every step
must consume what it looks at). Helpers may raise `NeedMore`,
which counts as waiting. Subclasses store positions only relative to `self._pos`, so
the consumed prefix of the buffer can be dropped at any time. The full parse is this
same machine fed the whole text and closed, so both paths share one implementation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agent.parsing.scan import TOKEN, NeedMore
from agent.parsing.sink import TextSink
from agent.parsing.types import CallCandidate, CallDelta, Delta, Parsed

logger = logging.getLogger(__name__)

_COMPACT_AFTER = 4096


class ScanStream:
    reasoning_separator = "\n"

    def __init__(self, tool_names: Sequence[str] = ()) -> None:
        self.tool_names = tuple(tool_names)
        self.failed = False
        self._buf = ""
        self._pos = 0
        self._closed = False
        self._content = TextSink()
        self._reasoning = TextSink(self.reasoning_separator)
        self._calls: list[list[str]] = []
        self._delta = Delta()

    def feed(self, text: str) -> Delta:
        if text and not self._closed:
            self._buf += text
            self._run(eof=False)
        return self._take_delta()

    def close(self) -> Delta:
        if not self._closed:
            self._run(eof=True)
            self._closed = True
        return self._take_delta()

    def result(self) -> Parsed:
        calls = [CallCandidate(name, arguments) for name, arguments in self._calls]
        return Parsed(self._content.text or None, self._reasoning.text or None, calls)

    def _step(self, eof: bool) -> bool:
        raise NotImplementedError

    def _run(self, eof: bool) -> None:
        if self.failed:
            self._emit_content(TOKEN.sub("", self._buf[self._pos :]))
            self._pos = len(self._buf)
            return
        try:
            while self._step_or_wait(eof):
                pass
        except Exception:
            logger.exception("dialect parser failed; passing the rest through as content")
            self.failed = True
            self._run(eof)
        self._compact()

    def _step_or_wait(self, eof: bool) -> bool:
        try:
            return self._step(eof)
        except NeedMore:
            if eof:
                raise RuntimeError("a scanner asked for more text at end of input") from None
            return False

    def _compact(self) -> None:
        if self._pos > _COMPACT_AFTER or self._pos == len(self._buf):
            self._buf = self._buf[self._pos :]
            self._pos = 0

    def _take_delta(self) -> Delta:
        delta, self._delta = self._delta, Delta()
        return delta

    def _emit_content(self, text: str) -> None:
        self._delta.content += self._content.push(text)

    def _emit_reasoning(self, text: str) -> None:
        self._delta.reasoning += self._reasoning.push(text)

    def _write(self, target: str | None, text: str) -> None:
        """Send text to "content" or "reasoning"; None drops it."""
        if target == "reasoning":
            self._emit_reasoning(text)
        elif target == "content":
            self._emit_content(text)

    def _end_segment(self, target: str | None) -> None:
        (self._reasoning if target == "reasoning" else self._content).end_segment()

    def _open_call(self, name: str) -> int:
        self._content.end_segment()
        self._calls.append([name, ""])
        index = len(self._calls) - 1
        self._delta.calls.append(CallDelta(index, name=name))
        return index

    def _close_call(self, index: int, arguments: str) -> None:
        arguments = arguments.strip()
        self._calls[index][1] = arguments
        self._delta.calls.append(CallDelta(index, arguments=arguments))
