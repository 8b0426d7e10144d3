"""The published OpenAPI schema says what the service answers: every error status a route
can give, with the OpenAI error object, and no FastAPI 422 (validation errors are 400s)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import codes_by_status
from api.protocol import ErrorResponse

_WHY = {
    400: "A malformed request, a limit passed, or a field that cannot be honoured",
    401: "Missing or wrong API key",
    403: "The key may not do this, or already has MAX_SESSIONS_PER_KEY sessions",
    404: "No such session, response, model or backend (or another key's)",
    409: "The session is busy or waits for an approval",
    413: "The request body is larger than MAX_REQUEST_BYTES",
    429: "The turn limit and its queue are full",
    502: "The model server failed or is unreachable",
    503: "No backend, or no database connection left",
    504: "The model server did not answer within LLM_TIMEOUT",
}
BODY = (400, 413)
"""What any request with a body may meet before its route runs (api/body_guard.py)."""
TURN = (*BODY, 403, 404, 409, 429, 502, 503, 504)
"""What a request that runs an agent turn may meet."""
_SSE_EVENT = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
    "required": ["data"],
}
STREAM_RESPONSE = {200: {"content": {"text/event-stream": {"itemSchema": _SSE_EVENT}}}}
"""`stream: true` answers with server-sent events (each `data` a JSON chunk, or `[DONE]`)."""
SESSION_CHANGE = (404, 409, 503)
"""What changing a session may meet: unknown, busy, or (Postgres) no lock connection."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the OpenAI error schema."""
    codes = codes_by_status()
    declared: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        named = ", ".join(codes.get(status, []))
        description = f"{_WHY[status]}" + (f" (code: {named})" if named else "")
        declared[status] = {"model": ErrorResponse, "description": description}
    return declared


def honest_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's schema without FastAPI's 422s: the service answers 400 instead."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
