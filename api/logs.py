"""Logging: text or one JSON object per line (LOG_FORMAT), request ids, one line per request.

Every record logged while a request runs carries its fields (request_id, session_id, model,
tokens...) in JSON output; URL passwords are masked in every line, whoever logs it (the HTTP
clients log the URLs they call at INFO).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.settings import LogFormat, mask_url_passwords_in
from agent.tracing import current_ids

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTED_ID = re.compile(r"[\x21-\x7e]{1,128}")  # printable, no spaces: safe in logs
_request_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)
access_logger = logging.getLogger("oss_agent.access")


def note(**fields: Any) -> None:
    """Add fields to the current request's log lines (no-op outside a request)."""
    current = _request_fields.get()
    if current is not None:
        current.update({key: value for key, value in fields.items() if value is not None})


class RequestContextFilter(logging.Filter):
    """Masks URL passwords and attaches the current request's fields to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; only rewrites it."""
        message = record.getMessage()
        masked = mask_url_passwords_in(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        record.__dict__.pop("color_message", None)  # uvicorn's copy with terminal colours
        for key, value in (_request_fields.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if ids := current_ids():
            record.trace_id, record.span_id = ids
        return True


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Route every logger (uvicorn's included) to one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                datefmt="%Y-%m-%dT%H:%M:%S%z",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestContextFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for chatty in ("httpx", "httpcore"):  # a line per upstream request, URL included
        logging.getLogger(chatty).setLevel(logging.WARNING)


class RequestLogMiddleware:
    """Gives every response an `x-request-id` (the proxy's when it sent a usable one) and
    logs one line per request: method, path, status, duration, session, model, tokens."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request; other scopes (lifespan) pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id  # for the 500 handler
        fields: dict[str, Any] = {"request_id": request_id}
        token = _request_fields.set(fields)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
                fields["status"] = message["status"]
                if session_id := _header(headers, b"x-session-id"):
                    fields.setdefault("session_id", session_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            fields.setdefault("status", 500)  # an exception escaped: the 500 handler answers
            fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
            access_logger.info(
                "%s %s %s in %s ms",
                scope["method"],
                scope["path"],
                fields["status"],
                fields["duration_ms"],
            )
            _request_fields.reset(token)


def _request_id(scope: Scope) -> str:
    sent = _header(scope.get("headers", []), REQUEST_ID_HEADER.encode())
    if sent and _ACCEPTED_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
