"""Domain errors: what went wrong, named by `code`. They know nothing of HTTP; api/errors.py
alone maps each code to a status, an OpenAI error type and response headers."""

from __future__ import annotations

from collections.abc import Callable

import openai

from agent.settings import mask_url_password
from agent.upstream_check import missing_v1_hint


class AgentError(Exception):
    """An error the client should see: a message saying what to fix, the request field it
    concerns (`param`) and what kind of error it is (`code`, e.g. `session_busy`)."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers: dict[str, str] = {}
        """Extra facts for the response (the session id once known)."""


class UpstreamError(AgentError):
    """The model server could not be reached, timed out, or refused the request."""


class ReceivedCounter:
    """Passes reply deltas on and counts them, so a dropped stream can say how far it got."""

    def __init__(self, on_delta: Callable[[str, str], None]) -> None:
        self.on_delta = on_delta
        self.count = 0

    def __call__(self, kind: str, text: str) -> None:
        """Count one delta (about one token of the upstream's stream) and pass it on."""
        self.count += 1
        self.on_delta(kind, text)


# Errors after the connection was made: the server went away in the middle of its reply.
# Matched by name: the OpenAI SDK uses its own fork of httpx (httpx2) with the same classes.
_MID_REPLY = {"RemoteProtocolError", "ReadError", "WriteError"}


def upstream_error(exc: Exception, base_url: str, received: int = 0) -> UpstreamError:
    """Translate an OpenAI SDK exception from the upstream into what our client sees;
    `received` is how many reply deltas had arrived when it happened."""
    base_url = mask_url_password(base_url)
    if isinstance(exc, openai.APIConnectionError) and _any_cause(exc, _MID_REPLY):
        return _dropped(exc, base_url, received)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamError(
            f"The model server at {base_url} did not answer in time (LLM_TIMEOUT).",
            code="upstream_timeout",
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(
            f"The model server at {base_url} is unreachable "
            f"({str(_root(exc)).rstrip('.')}). "
            "Check LLM_BASE_URL and that the server is running.",
            code="upstream_unreachable",
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code == 404:
        return _not_found(exc, base_url)
    if isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500:
        return UpstreamError(
            f"The model server rejected the request ({exc.status_code}): {_detail(exc)}",
            code="upstream_rejected",
        )
    if isinstance(exc, openai.APIStatusError):
        return UpstreamError(
            f"The model server failed ({exc.status_code}): {_detail(exc)}",
            code="upstream_error",
        )
    return UpstreamError(
        f"The model server returned something unusable: {type(exc).__name__}: {exc}",
        code="upstream_bad_response",
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it, outermost first (LangChain wraps the SDK's error, which
    wraps httpx's, which wraps httpcore's)."""
    chain = [exc]
    while chain[-1].__cause__ is not None:
        chain.append(chain[-1].__cause__)
    return chain


def _root(exc: BaseException) -> BaseException:
    return _causes(exc)[-1]


def _any_cause(exc: BaseException, names: set[str]) -> bool:
    return any(type(cause).__name__ in names for cause in _causes(exc))


def _dropped(exc: openai.APIConnectionError, base_url: str, received: int) -> UpstreamError:
    how_far = f"after {received} tokens" if received else "before the reply was complete"
    return UpstreamError(
        f"The model server at {base_url} closed the connection in the middle of its reply: "
        f"connection dropped {how_far} ({str(_root(exc)).rstrip('.')}). The server may "
        "have crashed, restarted or run out of memory; its log says why.",
        code="upstream_dropped",
    )


def _not_found(exc: openai.APIStatusError, base_url: str) -> UpstreamError:
    """A 404 from the upstream is a configuration problem, not the client's request."""
    fix = missing_v1_hint(base_url) or "check that LLM_MODEL names a model the server serves"
    return UpstreamError(
        f"The model server at {base_url} answered 404 Not Found ({_detail(exc)}): {fix}",
        code="upstream_not_found",
    )


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message
