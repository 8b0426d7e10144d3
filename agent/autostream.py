"""Streaming cleanup of `content` whose dialect is unknown until its first characters."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.parsing import CallDelta, Delta, Parsed, StreamParser, detect_dialect, get_dialect
from agent.toolcalls.native import parse_content

# Enough text to tell `analysisWe need…` / `<|channel|>` from an ordinary answer.
DECIDE_AFTER = 24
# Content that may be nothing but a JSON call (bare or fenced), which only the end tells.
_MAYBE_WHOLE_JSON = re.compile(r"\s*(?:[\[{]|```[\w\-]*\s*[\[{])")


class AutoStream:
    """Holds the first characters back, picks harmony or the tagged (hermes/json) dialect,
    then streams through it, so markup never reaches the client's content."""

    def __init__(self, tool_names: Sequence[str] = ()) -> None:
        self._names = list(tool_names)
        self._held = ""
        self._inner: StreamParser | None = None

    def feed(self, text: str) -> Delta:
        """Parse more text; returns what became safe to show."""
        if self._inner is not None:
            return self._inner.feed(text)
        self._held += text
        if len(self._held.lstrip()) < DECIDE_AFTER and "<|" not in self._held:
            return Delta()
        return self._start().feed(self._take())

    def close(self) -> Delta:
        """End of output: flush everything held back."""
        inner = self._inner or self._start()
        delta = inner.feed(self._take()) if self._held else Delta()
        tail = inner.close()
        return Delta(
            delta.content + tail.content, delta.reasoning + tail.reasoning, delta.calls + tail.calls
        )

    def result(self) -> Parsed:
        """The full parse (after `close`)."""
        return (self._inner or self._start()).result()

    def _start(self) -> StreamParser:
        """Bare JSON is a call only when it is the whole content (as `sanitize_native`
        decides for the full text): content that starts like one is held to the end,
        other content streams with bare JSON shown as text."""
        if detect_dialect(self._held, self._names) == "harmony":
            self._inner = get_dialect("harmony").stream(self._names)
        elif _MAYBE_WHOLE_JSON.match(self._held):
            self._inner = _WholeContent(self._names)
        else:
            self._inner = get_dialect("hermes").stream(())
        return self._inner

    def _take(self) -> str:
        held, self._held = self._held, ""
        return held


class _WholeContent:
    """Held until the end, then parsed as a whole, exactly like non-streamed content."""

    def __init__(self, tool_names: Sequence[str]) -> None:
        self._names = list(tool_names)
        self._text = ""
        self._parsed: Parsed | None = None

    def feed(self, text: str) -> Delta:
        self._text += text
        return Delta()

    def close(self) -> Delta:
        if self._parsed is not None:
            return Delta()
        self._parsed = parse_content(self._text, self._names)
        calls = [CallDelta(i, c.name, c.arguments) for i, c in enumerate(self._parsed.calls)]
        return Delta(self._parsed.content or "", self._parsed.reasoning or "", calls)

    def result(self) -> Parsed:
        return self._parsed or Parsed(None, None, [])
