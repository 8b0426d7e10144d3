"""gpt-oss harmony output, with special tokens or with them stripped by a detokenizer.

Messages on `analysis` become reasoning, `final` and recipient-less `commentary`
(preambles) become content, and any message addressed to a function becomes a call,
whatever its channel. See harmony_header.py for the header shapes accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum, auto

from agent.builtin_tools import PYTHON, code_arguments
from agent.parsing.harmony_header import (
    Header,
    orphan_header_body,
    parse_stripped_header,
    parse_token_header,
)
from agent.parsing.harmony_scan import (
    call_name,
    channel_starts_header,
    find_body_stop,
    json_body_end,
)
from agent.parsing.registry import register_dialect
from agent.parsing.scan import (
    TOKEN,
    JsonScanner,
    is_complete_json,
    skip_space,
    token_at,
    without_cut_token,
)
from agent.parsing.stream_base import Output, ScanStream
from agent.parsing.types import TOOL_MESSAGE, Dialect

_MESSAGE_ENDS = frozenset({"end", "call", "return", "endoftext"})
_HEADER_STARTS = frozenset({"start", "channel", "constrain"})
_BODY_BREAKS = _MESSAGE_ENDS | {"start", "channel"}


class _State(Enum):
    BETWEEN = auto()  # expecting the next message header
    TOKEN_HEADER = auto()  # inside a header, waiting for <|message|>
    TEXT_BODY = auto()
    CALL_BODY = auto()
    AFTER_CALL = auto()


class HarmonyStream(ScanStream):
    """Streaming harmony parser; `unlabelled` is where text without a channel goes."""

    def __init__(
        self,
        tool_names: Sequence[str] = (),
        *,
        unlabelled: str = "content",
        out: Output | None = None,
        at_output_start: bool = True,
    ) -> None:
        super().__init__(tool_names, out)
        self._unlabelled = unlabelled
        self._state = _State.BETWEEN
        self._at_output_start = at_output_start
        self._header_started = False
        self._scan_offset = 0
        self._target: str | None = "content"
        self._stripped = False
        self._call = -1
        self._json: JsonScanner | bool | None = None
        self._code_call = False  # a call to python: its body is code, not JSON

    def _step(self, eof: bool) -> bool:
        if self._state is _State.TEXT_BODY:
            return self._text_body(eof)
        if self._state is _State.CALL_BODY:
            return self._call_body(eof)
        if self._state is _State.TOKEN_HEADER:
            return self._token_header(eof)
        if self._state is _State.AFTER_CALL:
            return self._after_call(eof)
        return self._between(eof)

    # -- headers ------------------------------------------------------------------

    def _between(self, eof: bool) -> bool:
        buf = self._buf
        if self._pos >= len(buf):
            return False
        pos = self._pos = skip_space(buf, self._pos, eof)
        if pos >= len(buf):
            return False
        token = token_at(buf, pos, eof) if buf.startswith("<", pos) else None
        if token:
            name = token.group(1)
            if name in _HEADER_STARTS:
                self._at_output_start = False
                self._header_started = name == "start"
                self._pos = token.end() if self._header_started else pos
                self._scan_offset = 0 if self._header_started else token.end() - pos
                self._state = _State.TOKEN_HEADER
            else:
                self._pos = token.end()
                if name == "message":
                    self._begin_message(Header(None))
            return True
        stripped = parse_stripped_header(
            buf,
            pos,
            eof,
            require_role=False,
            role_implied=self._at_output_start,
            tool_names=self.tool_names,
        )
        if stripped:
            header, self._pos = stripped
            self._begin_message(header)
        else:
            self._begin_message(Header(None))
        return True

    def _token_header(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        i = buf.find("<|", pos + self._scan_offset)
        if i < 0:
            if not eof:
                self._scan_offset = max(self._scan_offset, len(buf) - pos - 1)
                return False
            self._orphan_header(buf[pos:], at_end=True)
            self._pos, self._state = len(buf), _State.BETWEEN
            return True
        token = token_at(buf, i, eof)
        name = token.group(1) if token else ""
        if token is None or (name not in _MESSAGE_ENDS and name not in ("message", "start")):
            self._scan_offset = (token.end() if token else i + 1) - pos
            return True
        header_text, self._pos = buf[pos:i], token.end()
        if name == "message":
            self._begin_message(parse_token_header(header_text, started=self._header_started))
            return True
        self._orphan_header(header_text)
        self._header_started, self._scan_offset = name == "start", 0
        if name != "start":
            self._state = _State.BETWEEN
        return True

    def _orphan_header(self, text: str, *, at_end: bool = False) -> None:
        """A header cut off by an end token or end of input: salvage what is clear. At the
        end of input, a call whose arguments are not complete JSON was truncated."""
        text = text[: without_cut_token(text, 0)]
        header = parse_token_header(text, started=self._header_started)
        if "<|channel|>" not in text or header.channel is None:
            return
        body = orphan_header_body(text, has_recipient=header.recipient is not None)
        name = call_name(header.recipient, self.tool_names) if header.recipient else None
        if name:
            complete = not at_end or is_complete_json(body)
            self._close_call(self._open_call(name, TOOL_MESSAGE), body, complete=complete)
        elif header.recipient is None and text.count("<|channel|>") == 1:
            self._write(self._channel_target(header), body)

    def _begin_message(self, header: Header) -> None:
        self._at_output_start = False
        self._stripped = header.stripped
        name = call_name(header.recipient, self.tool_names) if header.recipient else None
        if name and not header.from_tool:
            self._code_call = name == PYTHON
            self._call = self._open_call(name, TOOL_MESSAGE)
            self._json = False if self._code_call else None
            self._state = _State.CALL_BODY
            return
        drop = header.from_tool or name == ""
        self._target = None if drop else self._channel_target(header)
        self._state = _State.TEXT_BODY

    def _channel_target(self, header: Header) -> str:
        if header.channel is None:
            return self._unlabelled
        return "reasoning" if header.channel == "analysis" else "content"

    # -- bodies ---------------------------------------------------------------------

    def _text_body(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        stop, kind = find_body_stop(buf, pos, eof, self._stripped, self.tool_names)
        self._write(self._target, buf[pos:stop])
        self._pos = len(buf) if kind == "end" else stop
        if kind == "wait":
            return False
        token = TOKEN.match(buf, stop) if kind == "token" else None
        breaks = self._breaks_body(token, eof) if token else True
        if breaks is None:
            return False
        if token and not breaks:
            self._pos = token.end()  # stray markup inside a body is dropped
            return True
        self._end_segment(self._target)
        self._after_body(token)
        return True

    def _breaks_body(self, token: re.Match[str], eof: bool) -> bool | None:
        """Whether a token ends the body (None: too early to say). Prose may name markers
        (`<|call|>` in reasoning, a `<|channel|>` that starts no header): they are data."""
        name = token.group(1)
        if name in ("call", "return") and self._target == "reasoning":
            return False
        if name == "channel":
            return channel_starts_header(self._buf, token.end(), eof)
        return name in _BODY_BREAKS

    def _after_body(self, token: re.Match[str] | None) -> None:
        """Route to the next header after a body ended at `token` (None: a stripped header)."""
        self._state = _State.BETWEEN
        if token is None:
            return
        name = token.group(1)
        if name in _MESSAGE_ENDS:
            self._pos = token.end()
        elif name == "start":
            self._pos, self._header_started = token.end(), True
            self._scan_offset, self._state = 0, _State.TOKEN_HEADER

    def _call_body(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        if self._json is None:
            first = skip_space(buf, pos, eof)
            opens_json = first < len(buf) and buf[first] in "{["
            self._json = (
                JsonScanner(first - pos, stop_at_tokens=not self._stripped) if opens_json else False
            )
        if isinstance(self._json, JsonScanner):
            found = json_body_end(self._json, buf, pos, eof, self._stripped)
            if found is None:
                return False
            end, complete = found
        else:
            end, kind = find_body_stop(buf, pos, eof, self._stripped, self.tool_names)
            if kind == "wait":
                return False
            complete = kind != "end" or is_complete_json(buf[pos:end])
        body = buf[pos:end]
        if self._code_call:  # code cut off by the end of output counts as cut off
            body = code_arguments(body.strip("\n"))
        self._close_call(self._call, body, complete=complete)
        self._pos, self._state = end, _State.AFTER_CALL
        return True

    def _after_call(self, eof: bool) -> bool:
        buf = self._buf
        first = skip_space(buf, self._pos, eof)
        token = token_at(buf, first, eof) if buf.startswith("<", first) else None
        if token and token.group(1) in _MESSAGE_ENDS:
            first = token.end()
        self._pos, self._state = first, _State.BETWEEN
        return True


@register_dialect("harmony")
class HarmonyDialect(Dialect):
    def stream(
        self, tool_names: Sequence[str] = (), *, text_target: str = "content"
    ) -> HarmonyStream:
        return HarmonyStream(tool_names, unlabelled=text_target)
