"""Where harmony message bodies end, and what a recipient addresses."""

from __future__ import annotations

from collections.abc import Sequence

from agent.builtin_tools import tool_for_recipient
from agent.parsing.harmony_header import is_role, parse_stripped_header
from agent.parsing.scan import (
    TOKEN,
    JsonScanner,
    NeedMore,
    held_prefix,
    token_at,
    without_cut_token,
)

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
