"""A model call's text deltas as the turn's stream events, joined per event-loop tick.

Everything one network read of the model's stream brings is parsed in one tick; its deltas
leave as one event per run of one kind (content, reasoning) when the tick ends. Unloaded,
a read carries one token and so does each event, sent as soon as it was read; under load
reads carry several, and the service writes (renders, sends through its layers) once per
read instead of once per token, so it falls behind less.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class JoinedDeltas:
    """Call with (kind, text); `flush` writes what is held at once (a step's end)."""

    def __init__(self, write: Callable[[dict[str, Any]], None]) -> None:
        self._write = write
        self._held: list[tuple[str, list[str]]] = []
        self._scheduled = False

    def __call__(self, kind: str, text: str) -> None:
        if self._held and self._held[-1][0] == kind:
            self._held[-1][1].append(text)
        else:
            self._held.append((kind, [text]))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._tick_ended)

    def flush(self) -> None:
        held, self._held = self._held, []
        for kind, texts in held:
            self._write({"kind": kind, "text": "".join(texts)})

    def _tick_ended(self) -> None:
        self._scheduled = False
        self.flush()
