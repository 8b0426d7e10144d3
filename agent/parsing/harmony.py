"""gpt-oss harmony output, with special tokens or with them stripped by a detokenizer.

Messages on `analysis` become reasoning, `final` and recipient-less `commentary`
(preambles) become content, and any message addressed to a function becomes a call,
whatever its channel.

Headers are read leniently. Two shapes reach us:
* token form, the text between the header start and `<|message|>`, e.g.
  `assistant to=functions.f<|channel|>commentary <|constrain|>json` (recipient in the
  role or the channel section, junk around the channel name tolerated);
* stripped form, where a detokenizer dropped the special tokens and the header is glued
  to its neighbours: `analysisWe need…`, `assistantfinalHello`,
  `commentary to=functions.get_weather json{"city":"Paris"}`,
  `assistant to=functions.fcommentary json{…}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, auto

from agent.builtin_tools import PYTHON, code_arguments, tool_for_recipient
from agent.parsing.scanner import (
    TOKEN,
    JsonScanner,
    NeedMore,
    Output,
    ScanStream,
    held_prefix,
    is_complete_json,
    skip_space,
    starts_with,
    token_at,
    without_cut_token,
)
from agent.parsing.types import TOOL_MESSAGE, Dialect, register_dialect

STRIPPED_CHANNELS = ("commentary", "analysis", "final")
_TOKEN_CHANNEL = re.compile(r"(analysis|commentary|comment|final)")
_RECIPIENT = re.compile(r"to=([^\s<]+)")
_BARE_FUNCTION = re.compile(r"(?<![\w.=])functions\.[\w.\-]+")
_NAME = re.compile(r"[\w.\-]*")
_GLUED_CHANNEL = re.compile(r"(?=(commentary|analysis|final))")
_CONSTRAIN = re.compile(r"^\s*<\|constrain\|>\s*[A-Za-z]+")
_JSON_WORD = re.compile(r"^\s*json\b", re.IGNORECASE)
_CONTENT_TYPES = ("json", "code")
_ROLE_RECIPIENTS = frozenset({"assistant", "user", "system", "developer", "all"})
_NOT_A_BODY_START = frozenset(",.;:!?)")


@dataclass(frozen=True)
class Header:
    channel: str | None
    recipient: str | None = None
    stripped: bool = False  # body follows stripped-form rules (no tokens expected)
    from_tool: bool = False  # a tool-result message the model made up


def is_role(recipient: str) -> bool:
    return recipient.lower() in _ROLE_RECIPIENTS


def parse_token_header(text: str, *, started: bool) -> Header:
    """Header between `<|start|>` (if `started`) or `<|channel|>` and `<|message|>`."""
    recipients = _RECIPIENT.findall(text) or _BARE_FUNCTION.findall(text)
    recipient = next((r for r in recipients if not is_role(r)), None)
    if recipient is None and recipients:
        recipient = recipients[0]
    if "<|channel|>" in text:
        role, channel_part = text.split("<|channel|>", 1)
    else:
        role, channel_part = (text if started else ""), text
    match = _TOKEN_CHANNEL.search(_RECIPIENT.sub(" ", channel_part))
    channel = match.group(1) if match else None
    if channel == "comment":
        channel = "commentary"
    from_tool = started and _RECIPIENT.sub("", role).strip().startswith("functions.")
    return Header(channel, recipient, from_tool=from_tool)


def orphan_header_body(text: str, *, has_recipient: bool) -> str:
    """Text left in a header that never reached `<|message|>`, after its last field."""
    ends = [m.end() for m in _RECIPIENT.finditer(text)]
    head, marker, tail = text.rpartition("<|channel|>")
    match = _TOKEN_CHANNEL.search(tail) if marker else None
    if match:
        ends.append(len(head) + len(marker) + match.end())
    body = _CONSTRAIN.sub("", text[max(ends, default=0) :], count=1)
    if has_recipient:
        body = _JSON_WORD.sub("", body, count=1)
    return TOKEN.sub("", body).strip()


class _Cursor:
    def __init__(self, buf: str, pos: int, eof: bool) -> None:
        self.buf, self.pos, self.eof = buf, pos, eof

    def take(self, literal: str) -> bool:
        if starts_with(self.buf, self.pos, literal, self.eof):
            self.pos += len(literal)
            return True
        return False

    def take_any(self, words: Sequence[str]) -> str | None:
        return next((word for word in words if self.take(word)), None)

    def take_name(self) -> str:
        match = _NAME.match(self.buf, self.pos)
        assert match is not None  # the pattern matches the empty string
        if match.end() == len(self.buf) and not self.eof:
            raise NeedMore
        self.pos = match.end()
        return match.group()

    def peek(self) -> str:
        if self.pos < len(self.buf):
            return self.buf[self.pos]
        if not self.eof:
            raise NeedMore
        return ""

    def take_recipient_marker(self) -> bool:
        return self.take(" to=") or self.take("to=")


def parse_stripped_header(
    buf: str,
    pos: int,
    eof: bool,
    *,
    require_role: bool,
    role_implied: bool = False,
    tool_names: Sequence[str] = (),
) -> tuple[Header, int] | None:
    """Stripped-form header at `pos` and the index where its body starts, or None.

    `role_implied` is for the start of an output: the prompt ended with
    `<|start|>assistant`, so the model may begin with the role section's ` to=…`.
    """
    cur = _Cursor(buf, pos, eof)
    has_role = cur.take("assistant") or role_implied
    if require_role and not has_role:
        return None
    recipient = channel = None
    if has_role and cur.take_recipient_marker():
        name_start, name = cur.pos, cur.take_name()
        if cur.peek() == "<":
            recipient = name
        else:
            recipient, channel = _split_glued_channel(name, tool_names)
            if channel is not None:
                cur.pos = name_start + len(recipient) + len(channel)
    if channel is None:
        cur.take("<|channel|>")
        channel = cur.take_any(STRIPPED_CHANNELS)
        if channel is None:
            return None
    if recipient is None and cur.take_recipient_marker():
        recipient = cur.take_name()
    if recipient is not None or channel == "final":
        _take_content_type(cur, needs_json_body=recipient is None)
    token_body = cur.take("<|message|>")
    if not (cur.buf.startswith("assistant", pos) or recipient or token_body) and not (
        _plausible_body(cur.peek(), channel)
    ):
        return None
    return Header(channel, recipient or None, stripped=not token_body), cur.pos


def _split_glued_channel(name: str, tool_names: Sequence[str]) -> tuple[str, str | None]:
    """`functions.fcommentary` -> (`functions.f`, `commentary`), preferring known tools."""
    splits = [(m.start(), m.group(1)) for m in _GLUED_CHANNEL.finditer(name) if m.start() > 0]
    if not splits:
        return name, None

    def preference(split: tuple[int, str]) -> tuple[bool, bool, int]:
        start, channel = split
        known = name[:start].removeprefix("functions.") in tool_names
        return known, start + len(channel) == len(name), start

    start, channel = max(splits, key=preference)
    return name[:start], channel


def _take_content_type(cur: _Cursor, *, needs_json_body: bool) -> None:
    start = cur.pos
    cur.take(" ")
    cur.take("<|constrain|>")
    word = cur.buf[cur.pos : cur.pos + 4].lower()
    types = ("json",) if needs_json_body else _CONTENT_TYPES
    if len(word) < 4 and not cur.eof and any(t.startswith(word) for t in types):
        raise NeedMore
    if word in types:
        cur.pos += 4
        if not needs_json_body or cur.peek() in ("{", "[", "<"):
            return
    cur.pos = start


def _plausible_body(first: str, channel: str) -> bool:
    """Whether a role-less channel word really starts a message (not ordinary prose)."""
    if not first or first.isspace() or first in _NOT_A_BODY_START:
        return False
    if channel == "final":
        return first.isupper() or first.isdigit() or first in '{["'
    return True


_BUILTIN_PREFIXES = ("browser.", "container.", "python")
_HEADER_LOOKAHEAD = 64  # a `<|channel|>` in a body with no header token this close is prose


def call_name(recipient: str, tool_names: Sequence[str]) -> str | None:
    """Tool name a recipient addresses; None for roles; gpt-oss's own tools by their server
    tool's name (`browser.search` -> `browser_search`); "" for other built-in namespaces."""
    name = recipient.removeprefix("functions.")
    if name != recipient or name in tool_names:
        return name
    if is_role(name):
        return None
    if builtin := tool_for_recipient(name):
        return builtin
    return "" if name.startswith(_BUILTIN_PREFIXES) else name


def find_body_stop(
    buf: str, start: int, eof: bool, stripped: bool, tool_names: Sequence[str]
) -> tuple[int, str]:
    """Where body text from `start` stops, and why: "token", "header" (a stripped-form
    header), "end" (end of input) or "wait" (text from there on is held back)."""
    cursor, token_start = start, buf.find("<|", start)
    while True:
        if 0 <= token_start < cursor:
            token_start = buf.find("<|", cursor)
        header_start = buf.find("assistant", cursor) if stripped else -1
        candidates = [i for i in (token_start, header_start) if i >= 0]
        if not candidates:
            if eof:
                return without_cut_token(buf, start), "end"
            words = ("<|", "assistant") if stripped else ("<|",)
            return held_prefix(buf, cursor, words), "wait"
        stop = min(candidates)
        try:
            if stop == token_start:
                if token_at(buf, stop, eof):
                    return stop, "token"
            elif parse_stripped_header(buf, stop, eof, require_role=True, tool_names=tool_names):
                return stop, "header"
        except NeedMore:
            return stop, "wait"
        cursor = stop + 1


def json_body_end(
    scanner: JsonScanner, buf: str, pos: int, eof: bool, stripped: bool
) -> tuple[int, bool] | None:
    """End of a JSON call body starting at `pos` and whether the body is complete (ended
    by a token or balanced), None until it is known.

    With tokens, the body ends at the first token outside JSON strings (so `<|call|>`
    inside a string is data); stripped, it ends where the brackets balance. If input
    ends inside a string, the first token after the last quote ends it instead (a string
    the model forgot to close), but the body counts as cut off.
    """
    while True:
        end = scanner.run(buf, pos)
        if end is None:
            if not eof:
                return None
            # after the last quote: a token with a string after it is data in that string
            after_quotes = max(pos, buf.rfind('"') + 1)
            token = TOKEN.search(buf, after_quotes) if scanner.in_string and not stripped else None
            stop = token.start() if token else without_cut_token(buf, pos)
            return stop, scanner.balanced
        if stripped or token_at(buf, pos + end, eof):
            return pos + end, True
        scanner.skip(end)


def channel_starts_header(buf: str, after: int, eof: bool) -> bool | None:
    """Whether the `<|channel|>` ending at `after`, met inside a message body, starts a new
    message's header: the next token is `<|message|>` or `<|constrain|>`, or the header names
    a recipient (`to=`). None while the text seen is too short to tell."""
    nxt = buf.find("<|", after, after + _HEADER_LOOKAHEAD + 2)
    token = TOKEN.match(buf, nxt) if nxt >= 0 else None
    if token is None:
        head = buf[after : after + _HEADER_LOOKAHEAD]
        if not eof and len(head) < _HEADER_LOOKAHEAD:
            return None
        return eof and "to=" in head
    return "to=" in buf[after:nxt] or token.group(1) in ("message", "constrain")


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
