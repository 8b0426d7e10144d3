"""Streaming cleanup of `content` whose dialect is unknown until its first characters."""

from __future__ import annotations

from collections.abc import Sequence

from agent.dialects import Delta, Parsed, StreamParser, detect_dialect, get_dialect

# Enough text to tell `analysisWe need…` / `<|channel|>` from an ordinary answer.
DECIDE_AFTER = 24


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
        name = "harmony" if detect_dialect(self._held, self._names) == "harmony" else "hermes"
        self._inner = get_dialect(name).stream(self._names)
        return self._inner

    def _take(self) -> str:
        held, self._held = self._held, ""
        return held
