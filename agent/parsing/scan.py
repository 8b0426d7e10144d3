"""Lookahead helpers shared by the dialect scanners.

Every helper looks at `buf` from an index and either answers or raises `NeedMore`
when the answer depends on text that has not arrived yet (never at end of input,
`eof=True`). Scanners call them and simply retry after the next delta, which is
what makes a streamed parse equal to the full one.
"""

from __future__ import annotations

import functools
import json
import re

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
