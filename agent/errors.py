"""Domain errors: what went wrong, named by `code`. They know nothing of HTTP; api/errors.py
alone maps each code to a status, an OpenAI error type and response headers."""

from __future__ import annotations


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

    received = 0
    """Reply deltas the client had been sent when it happened."""
