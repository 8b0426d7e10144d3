"""Harmony message headers, read leniently.

Two shapes reach us:
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

from agent.parsing.scan import TOKEN, NeedMore, starts_with

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
