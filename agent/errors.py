"""Errors that reach the API as OpenAI-shaped error responses."""

from __future__ import annotations

import openai

from agent.settings import mask_url_password


class AgentError(Exception):
    """An error with the HTTP status, OpenAI error type and code the client should see."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code
        self.headers: dict[str, str] = {}


class UpstreamError(AgentError):
    """The model server could not be reached, timed out, or refused the request."""


def upstream_error(exc: Exception, base_url: str) -> UpstreamError:
    """Translate an OpenAI SDK exception from the upstream into what our client sees."""
    base_url = mask_url_password(base_url)
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamError(
            f"The model server at {base_url} did not answer in time (LLM_TIMEOUT).",
            status=504,
            type="upstream_error",
            code="upstream_timeout",
        )
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(
            f"The model server at {base_url} is unreachable "
            f"({str(exc.__cause__ or exc).rstrip('.')}). "
            "Check LLM_BASE_URL and that the server is running.",
            status=502,
            type="upstream_error",
            code="upstream_unreachable",
        )
    if isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500:
        return UpstreamError(
            f"The model server rejected the request ({exc.status_code}): {_detail(exc)}",
            status=400,
            type="invalid_request_error",
            code="upstream_rejected",
        )
    if isinstance(exc, openai.APIStatusError):
        return UpstreamError(
            f"The model server failed ({exc.status_code}): {_detail(exc)}",
            status=502,
            type="upstream_error",
            code="upstream_error",
        )
    return UpstreamError(
        f"The model server returned something unusable: {type(exc).__name__}: {exc}",
        status=502,
        type="upstream_error",
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
