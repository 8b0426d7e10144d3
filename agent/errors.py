"""Domain errors: what went wrong, named by `code`. They know nothing of HTTP; api/errors.py
alone maps each code to a status, an OpenAI error type and response headers."""

from __future__ import annotations

import openai

from agent.settings import mask_url_password


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


def upstream_error(exc: Exception, base_url: str) -> UpstreamError:
    """Translate an OpenAI SDK exception from the upstream into what our client sees."""
    base_url = mask_url_password(base_url)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamError(
            f"The model server at {base_url} did not answer in time (LLM_TIMEOUT).",
            code="upstream_timeout",
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(
            f"The model server at {base_url} is unreachable "
            f"({str(exc.__cause__ or exc).rstrip('.')}). "
            "Check LLM_BASE_URL and that the server is running.",
            code="upstream_unreachable",
        )
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


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message
