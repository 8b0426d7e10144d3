"""The tagged dialects: `hermes` (Hermes / Qwen `<tool_call>{"name": ..., "arguments":
{...}}</tool_call>`, also `<function=NAME>` elements, a missing closing tag, several calls,
text around them) and `json` (bare JSON calls: an object or array of `{"name",
"arguments"|"parameters"}` envelopes, alone, in prose or in a ```json fence). In both,
`<think>`/`<reasoning>` blocks are reasoning, and only JSON naming an offered tool is a
call, so ordinary JSON answers stay content (models in prompt mode often forget the tags).

Chat templates of thinking models (Qwen3, DeepSeek-R1, QwQ) often open the `<think>` block
in the prompt, so the output starts with reasoning and only a `</think>` marks its end:
when the first tag of an output is such a closer, the text before it is reasoning (see
auto.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import Enum, auto
from functools import partial
from typing import Literal

from agent.parsing.envelope import calls_from_payload, calls_from_value, load_json
from agent.parsing.scanner import (
    JsonScanner,
    NeedMore,
    Output,
    ScanStream,
    hold_or_drop,
    json_call_start,
    skip_space,
    starts_with,
)
from agent.parsing.types import BARE_JSON, CALL_TAG, CallCandidate, Delta, Dialect, register_dialect

REASONING_TAGS = {"<think>": "</think>", "<reasoning>": "</reasoning>"}
CALL_OPEN, CALL_CLOSE, FENCE = "<tool_call>", "</tool_call>", "```"
# `<function=NAME>…</function>` and `<function name="NAME">…` (llama.cpp's Hermes 2 Pro
# parser, Functionary v3.1, Qwen3-Coder inside `<tool_call>`).
FUNCTION_OPENS, FUNCTION_OPEN, FUNCTION_CLOSE = (
    ("<function=", "<function name="),
    "<function",
    "</function>",
)

CALL_ELEMENTS = {
    CALL_OPEN: (CALL_OPEN, CALL_CLOSE),
    **dict.fromkeys(FUNCTION_OPENS, (FUNCTION_OPEN, FUNCTION_CLOSE)),
}
_OPENERS = {close: open_ for open_, close in REASONING_TAGS.items()}
CLOSERS = frozenset(_OPENERS)
FIRST_TAGS = (*REASONING_TAGS, *_OPENERS, CALL_OPEN, *FUNCTION_OPENS)
"""Tags that open something or close a reasoning block: a stray `</tool_call>` is neither."""


_FENCE_LANGUAGE = re.compile(r"[\w\-]*")
_SPECIAL_TAGS_ONLY = re.compile(r"<")
_SPECIAL_WITH_JSON = re.compile(r"[<{\[`]")


# Where a bare JSON value may be a call: anywhere; only as the whole text (nothing but
# whitespace before or after it); at the end, with a last value that is no call kept aside
# as `tail_json` (see ReplyParser); never.
BareJson = Literal["anywhere", "start", "tail", "never"]


class _State(Enum):
    TEXT = auto()
    REASONING = auto()
    TOOL_CALL = auto()
    JSON_VALUE = auto()


class TaggedStream(ScanStream):
    reasoning_separator = ""

    def __init__(
        self,
        tool_names: Sequence[str] = (),
        *,
        tool_call_tags: bool,
        bare_json: BareJson = "anywhere",
        text_target: str = "content",
        out: Output | None = None,
    ) -> None:
        super().__init__(tool_names, out)
        self._tags = (*REASONING_TAGS, *REASONING_TAGS.values())
        if tool_call_tags:
            self._tags += (CALL_OPEN, CALL_CLOSE, *FUNCTION_OPENS)
        self._call_tags = (CALL_OPEN, CALL_CLOSE)
        self._bare_json = bare_json if self.tool_names else "never"
        self._json_calls = self._bare_json != "never"
        self._special = _SPECIAL_WITH_JSON if self._json_calls else _SPECIAL_TAGS_ONLY
        self._text_target = text_target
        self._state = _State.TEXT
        self._close_tag = ""
        self._scanner: JsonScanner | None = None
        self._value_offset = 0
        self._value_end: int | None = None
        self._fenced = False
        self.tail_json = ""

    def _emit_text(self, text: str) -> None:
        self._write(self._text_target, text)

    def _json_call_here(self, i: int) -> bool:
        """Whether a bare JSON value at `i` may be a call: anywhere, or only before any text
        (auto mode: JSON in prose is more likely an example shown to the user)."""
        if self._bare_json == "start":
            written = self._out.has_text(self._text_target)
            return not written and not self._buf[self._pos : i].strip()
        return self._json_calls

    def _step(self, eof: bool) -> bool:
        if self._state is _State.REASONING:
            return self._reasoning_body(eof)
        if self._state is _State.TOOL_CALL:
            return self._tool_call(eof)
        if self._state is _State.JSON_VALUE:
            return self._json_value(eof)
        return self._text(eof)

    def _text(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        cursor = pos
        while match := self._special.search(buf, cursor):
            i = match.start()
            try:
                action = self._special_at(buf, i, eof)
            except NeedMore:
                self._emit_text(buf[pos:i])
                self._pos = i
                return False
            if action is None:
                cursor = i + 1
                continue
            self._emit_text(buf[pos:i])
            self._pos = i
            action()
            return True
        hold = hold_or_drop(buf, pos, self._held_words(eof), eof)
        self._emit_text(buf[pos:hold])
        self._pos = len(buf) if eof else hold
        return False

    def _held_words(self, eof: bool) -> tuple[str, ...]:
        """Words whose beginning at the end of the text is held back until it is resolved."""
        return (*self._tags, FENCE) if self._json_calls and not eof else self._tags

    def _special_at(self, buf: str, i: int, eof: bool) -> Callable[[], None] | None:
        """What the `<`, `{`, `[` or backtick at `i` starts, as an action; None for text."""
        char = buf[i]
        if char in "{[`" and not self._json_call_here(i):
            return None
        if char == "<":
            tag = next((t for t in self._tags if starts_with(buf, i, t, eof)), None)
            return partial(self._enter_tag, tag) if tag else None
        if char == "`":
            offset = self._fence_at(buf, i, eof)
            return None if offset is None else partial(self._enter_json, offset, fenced=True)
        if json_call_start(buf, i, eof):
            return partial(self._enter_json, 0, fenced=False)
        return None

    def _fence_at(self, buf: str, i: int, eof: bool) -> int | None:
        if not starts_with(buf, i, FENCE, eof):
            return None
        language = _FENCE_LANGUAGE.match(buf, i + 3)
        assert language is not None
        if language.end() == len(buf) and not eof:
            raise NeedMore
        j = skip_space(buf, language.end(), eof)
        if j < len(buf) and buf[j] in "{[" and json_call_start(buf, j, eof):
            return j - i
        return None

    def _enter_tag(self, tag: str) -> None:
        self._pos += len(tag)
        if tag in REASONING_TAGS:
            self._state, self._close_tag = _State.REASONING, REASONING_TAGS[tag]
        elif tag in CALL_ELEMENTS:
            self._end_segment("content")
            self._state, self._scanner = _State.TOOL_CALL, None
            self._call_tags = CALL_ELEMENTS[tag]
            if tag in FUNCTION_OPENS:  # the whole element, tag included, is the payload
                self._pos -= len(tag)

    def _enter_json(self, offset: int, *, fenced: bool) -> None:
        self._state, self._fenced = _State.JSON_VALUE, fenced
        self._value_offset, self._value_end = offset, None
        self._scanner = JsonScanner(offset, stop_at_tokens=False)

    def _reasoning_body(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        end = buf.find(self._close_tag, pos)
        if end < 0:
            hold = hold_or_drop(buf, pos, (self._close_tag,), eof)
            self._emit_reasoning(buf[pos:hold])
            self._pos = len(buf) if eof else hold
            return False
        self._emit_reasoning(buf[pos:end])
        self._pos, self._state = end + len(self._close_tag), _State.TEXT
        return True

    def _value_end_at(self, eof: bool) -> int | None:
        """End of the JSON value being scanned (absolute), remembered once found."""
        if self._value_end is None:
            assert self._scanner is not None
            relative = self._scanner.run(self._buf, self._pos)
            if relative is None:
                return len(self._buf) if eof else None
            self._value_end = relative
        return self._pos + self._value_end

    def _json_value(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        end = self._value_end_at(eof)
        if end is None:
            return False
        close = end
        if self._fenced:
            after = skip_space(buf, end, eof)
            if starts_with(buf, after, FENCE, eof):
                close = after + len(FENCE)
        # "start" and "tail" need to know whether only whitespace follows (NeedMore waits)
        alone = self._bare_json == "anywhere" or skip_space(buf, close, eof) == len(buf)
        value = load_json(buf[pos + self._value_offset : end])
        calls = calls_from_value(value, self.tool_names, known_only=True) if alone else None
        if calls:
            self._emit_calls(calls, BARE_JSON, complete=self._scanner_done(end, eof))
        elif self._bare_json == "tail" and alone:
            self.tail_json = buf[pos:close]
        else:
            self._emit_text(buf[pos:close])
        self._pos, self._state = close, _State.TEXT
        return True

    def release_tail(self) -> Delta:
        """Write the JSON value kept aside at the end as text after all (after `close`)."""
        tail, self.tail_json = self.tail_json, ""
        self._emit_text(tail)
        return self._take_delta()

    def _scanner_done(self, end: int, eof: bool) -> bool:
        """False when the end of input cut the JSON value off."""
        assert self._scanner is not None
        return not eof or end < len(self._buf) or self._scanner.balanced

    def _tool_call(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        first = skip_space(buf, pos, eof)
        if first < len(buf) and buf[first] in "{[":
            if self._scanner is None:
                self._value_offset, self._value_end = first - pos, None
                self._scanner = JsonScanner(first - pos, stop_at_tokens=False)
            end = self._value_end_at(eof)
            if end is None:
                return False
            after = skip_space(buf, end, eof)
            closed = starts_with(buf, after, CALL_CLOSE, eof)
            close = after + len(CALL_CLOSE) if closed else end
            payload = buf[first:end]
            complete = closed or self._scanner_done(end, eof)
        else:
            opener, closer = self._call_tags
            found = [i for i in (buf.find(closer, pos), buf.find(opener, pos + 1)) if i >= 0]
            if not found and not eof:
                return False
            end = min(found, default=len(buf))
            close = end + len(closer) if buf.startswith(closer, end) else end
            payload = buf[pos:end]
            complete = bool(found) or FUNCTION_CLOSE in payload
        calls = calls_from_payload(payload, self.tool_names)
        if calls:
            self._emit_calls(calls, CALL_TAG, complete=complete)
        else:
            self._emit_text(payload)
            self._end_segment(self._text_target)
        self._pos, self._state = close, _State.TEXT
        return True

    def _emit_calls(
        self, calls: list[CallCandidate], position: str, *, complete: bool = True
    ) -> None:
        """The calls of one element; only the last can be the one the end cut off."""
        for n, call in enumerate(calls, 1):
            last_complete = complete or n < len(calls)
            index = self._open_call(call.name, position)
            self._close_call(index, call.arguments, complete=last_complete)


class TaggedDialect(Dialect):
    """A dialect run by `TaggedStream`; subclasses say whether `<tool_call>` tags count."""

    tool_call_tags = False

    def stream(
        self, tool_names: Sequence[str] = (), *, text_target: str = "content"
    ) -> TaggedStream:
        return TaggedStream(tool_names, tool_call_tags=self.tool_call_tags, text_target=text_target)


@register_dialect("hermes")
class HermesDialect(TaggedDialect):
    name = "hermes"
    tool_call_tags = True


@register_dialect("json")
class JsonDialect(TaggedDialect):
    name = "json"
    tool_call_tags = False
