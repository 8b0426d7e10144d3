"""A pure ASGI middleware that reads each request body before the app does: over
MAX_REQUEST_BYTES is a 413 (from Content-Length, or while a chunked body arrives, so a
large body is never held whole), and a JSON body is parsed and checked (api/limits.py),
a large one in a worker thread so it never stalls the event loop; the app takes that parse
instead of parsing the body again: a route that takes a JSON body uses `ParsedBodyRoute`."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from email.message import Message as MimeType
from typing import Any

import anyio.to_thread
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.errors import AgentError
from api.errors import error_response
from api.limits import RequestLimits, check_request, parse_strict

INLINE_BYTES = 65536
"""Bodies up to this size are checked on the event loop: about a millisecond, less than
the trip to a worker thread costs."""


class BodyTooLarge(AgentError):
    """The body passed MAX_REQUEST_BYTES."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The request body is larger than {limit} bytes (MAX_REQUEST_BYTES).",
            code="request_too_large",
        )


class BodyGuard:
    """Refuses oversized or unsafe bodies; hands the body on to the app unchanged."""

    def __init__(self, app: ASGIApp, max_bytes: int, limits: RequestLimits) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one HTTP request's body; other scopes pass through."""
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
            if body is None:
                return  # the client went away before sending it all: nobody to answer
            if _is_json(scope) and len(body) > INLINE_BYTES:
                await anyio.to_thread.run_sync(self._check_json, scope, body)
            elif _is_json(scope) and body:
                self._check_json(scope, body)  # cheaper than the trip to a thread
        except AgentError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise BodyTooLarge(self.max_bytes)
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _check_json(self, scope: Scope, body: bytes) -> None:
        """Check the body; the parse goes to the app with the request (`ParsedBodyRoute`)."""
        try:
            parsed = parse_strict(body, self.limits.max_json_depth)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return  # the app answers a syntax error with where it is
        check_request(parsed, self.limits)
        scope[PARSED] = parsed


def _has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _is_json(scope: Scope) -> bool:
    """The content types the app parses as JSON."""
    value = Headers(scope=scope).get("content-type")
    if not value:
        return False
    mime = MimeType()
    mime["content-type"] = value
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the client's own messages (a disconnect while streaming)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


PARSED = "oss_agent.parsed_body"
"""The scope key of the body guard's parse of the request's JSON body."""


class _ParsedBodyRequest(Request):
    async def json(self) -> Any:
        if PARSED in self.scope:
            return self.scope[PARSED]
        return await super().json()


class ParsedBodyRoute(APIRoute):
    """A route whose JSON body is the body guard's parse (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parsed_body_handler(request: Request) -> Response:
            return await handler(_ParsedBodyRequest(request.scope, request.receive))

        return parsed_body_handler
