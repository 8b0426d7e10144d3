"""How a model call can fail (transport failures are aiohttp's own exceptions), and what the
client is told for each (`upstream_error`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from agent.errors import UpstreamError
from agent.llm.probe import missing_v1_hint
from agent.settings import mask_url_password


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


UPSTREAM_FAILURES = (
    aiohttp.ClientError,  # LLM_TIMEOUT's read and connect timeouts among them
    UpstreamStatus,
    UpstreamMalformed,
    UpstreamTruncated,
    UpstreamReported,
    DeadlineExceeded,
)
"""What a model call can raise; `upstream_error` names each for the client."""
DEFAULT_RETRY_AFTER = "1"
"""Seconds a client is told to wait after an upstream 429 that named no time."""


def _mid_reply(exc: Exception) -> bool:
    """The connection was made and the server went away in the middle of its reply (or,
    before the status line, when retries were used up)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return False  # never connected
    return isinstance(
        exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError
    )


def upstream_error(exc: Exception, base_url: str, received: int = 0) -> UpstreamError:
    """Translate a failed model call into what our client sees; `received` is how many
    reply deltas had reached it when it happened."""
    error = _translated(exc, mask_url_password(base_url), received)
    error.received = received
    return error


def _translated(exc: Exception, base_url: str, received: int) -> UpstreamError:
    if isinstance(exc, UpstreamStatus):
        return _status_error(exc, base_url)
    if _mid_reply(exc):
        return _dropped(str(exc), base_url, received)
    if isinstance(exc, UpstreamTruncated):
        return UpstreamError(
            f"The model server at {base_url} ended its reply stream after {_how_far(received)} "
            "without [DONE] or a finish reason: the reply is incomplete and was not kept.",
            code="upstream_dropped",
        )
    if isinstance(exc, DeadlineExceeded):
        return UpstreamError(
            f"The model server at {base_url} sent {_how_far(received)} but did not finish "
            f"its reply in time: {exc} (LLM_DEADLINE).",
            code="upstream_timeout",
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return UpstreamError(
            f"The model server at {base_url} did not answer in time (LLM_TIMEOUT).",
            code="upstream_timeout",
        )
    if isinstance(exc, UpstreamReported):
        return UpstreamError(
            f"The model server at {base_url} failed in the middle of its reply: {exc}",
            code="upstream_error",
        )
    if isinstance(exc, UpstreamMalformed):
        return UpstreamError(
            f"The model server at {base_url} returned something unusable: {exc}",
            code="upstream_bad_response",
        )
    return UpstreamError(
        f"The model server at {base_url} is unreachable "
        f"({_text(exc)}). "
        "Check LLM_BASE_URL and that the server is running.",
        code="upstream_unreachable",
    )


def _status_error(exc: UpstreamStatus, base_url: str) -> UpstreamError:
    if exc.status == 404:
        return _not_found(exc, base_url)
    if exc.status == 429:
        error = UpstreamError(
            f"The model server at {base_url} is rate limiting requests (429): {exc.detail}",
            code="upstream_rate_limited",
        )
        error.headers["retry-after"] = exc.headers.get("retry-after") or DEFAULT_RETRY_AFTER
        return error
    if 400 <= exc.status < 500:
        return UpstreamError(
            f"The model server rejected the request ({exc.status}): {exc.detail}",
            code="upstream_rejected",
        )
    return UpstreamError(
        f"The model server failed ({exc.status}): {exc.detail}", code="upstream_error"
    )


def _text(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):  # its own text names ssl and the call
        error = exc.os_error
        why = "connection refused" if isinstance(error, ConnectionRefusedError) else error.strerror
        return f"cannot connect to {exc.host}:{exc.port}: {why or type(error).__name__}"
    return str(exc).rstrip(".") or type(exc).__name__


def _how_far(received: int) -> str:
    return f"{received} tokens" if received else "no reply text"


def _dropped(why: str, base_url: str, received: int) -> UpstreamError:
    how_far = f"after {received} tokens" if received else "before the reply was complete"
    return UpstreamError(
        f"The model server at {base_url} closed the connection in the middle of its reply: "
        f"connection dropped {how_far} ({why.rstrip('.') or 'no reason given'}). The server "
        "may have crashed, restarted or run out of memory; its log says why.",
        code="upstream_dropped",
    )


def _not_found(exc: UpstreamStatus, base_url: str) -> UpstreamError:
    """A 404 from the upstream is a configuration problem, not the client's request."""
    fix = missing_v1_hint(base_url) or "check that LLM_MODEL names a model the server serves"
    return UpstreamError(
        f"The model server at {base_url} answered 404 Not Found ({exc.detail}): {fix}",
        code="upstream_not_found",
    )
