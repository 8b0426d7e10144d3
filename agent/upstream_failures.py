"""How a model call can fail once the server was reached (transport failures are aiohttp's
own exceptions); agent/errors.py turns each into what the client is told."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class UpstreamMalformed(Exception):
    """The server's reply is not what the OpenAI wire format promises (named in the text)."""


class UpstreamStatus(Exception):
    """The server answered a non-2xx status; `body` is its parsed JSON (or text)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def detail(self) -> str:
        """The server's own words: its error object's message, else the body."""
        inner = self.body.get("error", self.body) if isinstance(self.body, dict) else self.body
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        return clip(inner, 500) if inner else f"HTTP {self.status}"


class UpstreamTruncated(Exception):
    """The stream ended without `[DONE]` and without a finish reason: the reply is cut."""


class UpstreamReported(Exception):
    """The server sent an error object in the middle of its stream (vLLM does on a crash)."""


class DeadlineExceeded(Exception):
    """The call ran longer than LLM_DEADLINE."""


def clip(value: Any, limit: int = 200) -> str:
    """A reply fragment short enough for an error message."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"
