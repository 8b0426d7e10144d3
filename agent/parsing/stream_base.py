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
from dataclasses import replace

from agent.parsing.scan import TOKEN, NeedMore
from agent.parsing.sink import TextSink
from agent.parsing.types import CallCandidate, CallDelta, Delta, Parsed

logger = logging.getLogger(__name__)

_COMPACT_AFTER = 4096
EMPTY = Delta()
"""The delta of a step that produced nothing (shared: never mutate a returned delta)."""


class ScanStream:
    reasoning_separator = "\n"

    def __init__(self, tool_names: Sequence[str] = (), out: Output | None = None) -> None:
        self.tool_names = tuple(tool_names)
        self.failed = False
        self._buf = ""
        self._pos = 0
        self._closed = False
        self._out = out or Output(self.reasoning_separator)

    def feed(self, text: str) -> Delta:
        if text and not self._closed:
            self._buf += text
            self._run(eof=False)
        return self._out.take_delta()

    def push(self, text: str) -> None:
        """Parse more text, leaving what it produced in the shared output's delta."""
        if text and not self._closed:
            self._buf += text
            self._run(eof=False)

    def close(self) -> Delta:
        self.finish()
        return self._take_delta()

    def finish(self) -> None:
        """End of input, leaving what it produced in the shared output's delta."""
        if not self._closed:
            self._run(eof=True)
            self._closed = True

    def result(self) -> Parsed:
        return self._out.result()

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
        return self._out.take_delta()

    def _emit_content(self, text: str) -> None:
        self._out.emit_content(text)

    def _emit_reasoning(self, text: str) -> None:
        self._out.emit_reasoning(text)

    def _write(self, target: str | None, text: str) -> None:
        """Send text to "content" or "reasoning"; None drops it."""
        if target == "reasoning":
            self._out.emit_reasoning(text)
        elif target == "content":
            self._out.emit_content(text)

    def _end_segment(self, target: str | None) -> None:
        self._out.end_segment(target)

    def _open_call(self, name: str, position: str) -> int:
        return self._out.open_call(name, position)

    def _close_call(self, index: int, arguments: str, *, complete: bool = True) -> None:
        self._out.close_call(index, arguments, complete=complete)


class Output:
    """What a parse has produced so far: the content and reasoning sinks, the calls, and the
    delta not yet handed out. Dialect streams that take over from one another share one."""

    def __init__(self, reasoning_separator: str = "\n") -> None:
        self._content = TextSink()
        self._reasoning = TextSink(reasoning_separator)
        self._sinks = {"content": self._content, "reasoning": self._reasoning}
        self._calls: list[CallCandidate] = []
        self._delta = Delta()

    def emit_content(self, text: str) -> None:
        if text:
            self._delta.content += self._content.push(text)

    def emit_reasoning(self, text: str) -> None:
        if text:
            self._delta.reasoning += self._reasoning.push(text)

    def has_text(self, target: str) -> bool:
        return not self._sinks[target].empty

    def end_segment(self, target: str | None) -> None:
        self._sinks["reasoning" if target == "reasoning" else "content"].end_segment()

    def open_call(self, name: str, position: str) -> int:
        self._sinks["content"].end_segment()
        self._calls.append(CallCandidate(name, "", position=position))
        index = len(self._calls) - 1
        self._delta.calls.append(CallDelta(index, name=name, position=position))
        return index

    def close_call(self, index: int, arguments: str, *, complete: bool) -> None:
        arguments = arguments.strip()
        self._calls[index] = replace(self._calls[index], arguments=arguments, complete=complete)
        self._delta.calls.append(CallDelta(index, arguments=arguments, complete=complete))

    def take_delta(self) -> Delta:
        delta = self._delta
        if not (delta.content or delta.reasoning or delta.calls):
            return EMPTY  # most deltas add nothing: no allocation for them
        self._delta = Delta()
        return delta

    def result(self) -> Parsed:
        content, reasoning = self._sinks["content"].text, self._sinks["reasoning"].text
        return Parsed(content or None, reasoning or None, list(self._calls))
