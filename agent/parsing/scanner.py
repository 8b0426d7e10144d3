"""What every dialect's stream parser is built on: the scan loop, its lookahead helpers,
and the text sinks it writes to.

* `ScanStream`, the base class: buffering, output sinks, the never-raise loop. A subclass
  implements `_step(eof)`: handle the text at `self._pos` and return True if it made
  progress, False if it must wait for more text (at end of input every step must consume
  what it looks at). Subclasses store positions only relative to `self._pos`, so the
  consumed prefix of the buffer can be dropped at any time. The full parse is this same
  machine fed the whole text and closed, so both paths share one implementation.
* The lookahead helpers look at `buf` from an index and either answer or raise `NeedMore`
  when the answer depends on text that has not arrived yet (never at end of input,
  `eof=True`), which counts as waiting: the scanner retries after the next delta, which is
  what makes a streamed parse equal to the full one.
* `TextSink` receives a channel's text in pieces, split into segments (one per harmony
  message, or per run of content between tool calls). Its total output is always
  `separator.join(s.strip() for s in segments if s.strip())`, however the pieces are cut:
  leading whitespace of a segment is dropped, trailing whitespace is held back until more
  text follows, and the separator is written only between non-empty segments.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from agent.parsing.types import CallCandidate, CallDelta, Delta, Parsed

TOKEN = re.compile(r"<\|([A-Za-z0-9_]{1,40})\|>")
_TOKEN_PREFIX = re.compile(r"<(?:\|[A-Za-z0-9_]{0,40}\|?)?\Z")
_CUT_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{0,40}\|?\Z")
_OUTSIDE_STRING = re.compile(r'["{}\[\]]')
_OUTSIDE_STRING_OR_TOKEN = re.compile(r'["{}\[\]<]')
_INSIDE_STRING = re.compile(r'["\\]')
_NON_SPACE = re.compile(r"\S")


class NeedMore(Exception):
    """The decision at this point needs text that has not been fed yet."""


def token_at(buf: str, i: int, eof: bool) -> re.Match[str] | None:
    """The `<|name|>` token starting at `i`, or None if the text there is not one."""
    match = TOKEN.match(buf, i)
    if match:
        return match
    if not eof and _TOKEN_PREFIX.match(buf, i):
        raise NeedMore
    return None


def without_cut_token(buf: str, start: int, end: int | None = None) -> int:
    """`end` (default len(buf)) moved back before a token cut off by the end of input."""
    end = len(buf) if end is None else end
    match = _CUT_TOKEN.search(buf, start, end)
    return match.start() if match else end


def starts_with(buf: str, i: int, literal: str, eof: bool) -> bool:
    """Whether `literal` is at `i`; NeedMore if the buffer ends inside a possible match."""
    if buf.startswith(literal, i):
        return True
    rest = buf[i:]
    if not eof and len(rest) < len(literal) and literal.startswith(rest):
        raise NeedMore
    return False


def skip_space(buf: str, i: int, eof: bool) -> int:
    """Index of the first non-space character at or after `i` (len(buf) only at eof)."""
    match = _NON_SPACE.search(buf, i)
    if match:
        return match.start()
    if not eof:
        raise NeedMore
    return len(buf)


def held_prefix(buf: str, start: int, words: tuple[str, ...]) -> int:
    """Start of the longest tail of buf[start:] that is a proper prefix of one of `words`."""
    match = _prefix_pattern(words).search(buf, max(start, len(buf) - _longest(words)))
    return match.start() if match else len(buf)


@functools.cache
def _prefix_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    prefixes = {word[:size] for word in words for size in range(1, len(word))}
    alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    return re.compile(f"(?:{alternatives})\\Z")


@functools.cache
def _longest(words: tuple[str, ...]) -> int:
    return max(len(word) for word in words)


def hold_or_drop(buf: str, start: int, words: tuple[str, ...], eof: bool) -> int:
    """End of the text that can be written now: a tail that may begin a tag is held
    back, and at end of input a cut-off tag (two characters or more) is dropped."""
    tail = held_prefix(buf, start, words)
    if eof and len(buf) - tail < 2:
        return len(buf)
    return tail


def json_call_start(buf: str, i: int, eof: bool) -> bool:
    """Whether the `{` or `[` at `i` opens an object (or array of objects) with a key."""
    j = i
    if buf[j] == "[":
        j = skip_space(buf, j + 1, eof)
        if j >= len(buf) or buf[j] != "{":
            return False
    j = skip_space(buf, j + 1, eof)
    return j < len(buf) and buf[j] == '"'


def is_complete_json(text: str) -> bool:
    """Whether `text` is one whole JSON value (what a call cut off by the end is not)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class JsonScanner:
    """Incremental scan of one JSON value, aware of strings and escapes.

    Positions are kept relative to the value's start so the owner may trim its buffer.
    With `stop_at_tokens`, a `<` outside strings is reported (harmony token bodies end
    at the first token outside strings); otherwise the scan ends when the value's
    brackets balance.
    """

    def __init__(self, offset: int, *, stop_at_tokens: bool) -> None:
        self._offset = offset
        self._depth = 0
        self._opened = False
        self._in_string = False
        self._pattern = _OUTSIDE_STRING_OR_TOKEN if stop_at_tokens else _OUTSIDE_STRING

    @property
    def in_string(self) -> bool:
        return self._in_string

    @property
    def balanced(self) -> bool:
        """Whether the text scanned so far closes every bracket and string it opened."""
        return self._opened and self._depth <= 0 and not self._in_string

    def skip(self, relative_index: int) -> None:
        """Continue after a `<` that turned out not to be a token."""
        self._offset = relative_index + 1

    def run(self, buf: str, base: int) -> int | None:
        """Relative end of the value (or of the text before a `<`), None if not reached."""
        while True:
            i = base + self._offset
            if self._in_string:
                match = _INSIDE_STRING.search(buf, i)
                if not match:
                    self._offset = len(buf) - base
                    return None
                if match.group() == "\\":
                    if match.end() >= len(buf):
                        self._offset = match.start() - base
                        return None
                    self._offset = match.end() + 1 - base
                    continue
                self._in_string = False
                self._offset = match.end() - base
                continue
            match = self._pattern.search(buf, i)
            if not match:
                self._offset = len(buf) - base
                return None
            char, at = match.group(), match.start() - base
            self._offset = at + 1
            if char == "<":
                self._offset = at
                return at
            if char == '"':
                self._in_string = True
            elif char in "{[":
                self._depth += 1
                self._opened = True
            else:
                self._depth -= 1
                if self._depth <= 0 and self._pattern is _OUTSIDE_STRING:
                    return at + 1


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
