"""Every error leaves the API as `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.errors import AgentError
from api.logs import REQUEST_ID_HEADER
from api.protocol import ErrorInfo, ErrorResponse

logger = logging.getLogger(__name__)

_TYPES = {401: "authentication_error", 404: "not_found_error", 409: "conflict_error"}
_RETRY = {"x-should-retry": "true", "retry-after": "1"}
# code -> (HTTP status, OpenAI error type, extra headers); any other code is a 400.
_HTTP: dict[str, tuple[int, str, dict[str, str]]] = {
    "invalid_api_key": (401, "authentication_error", {}),
    "session_not_found": (404, "not_found_error", {}),
    "response_not_found": (404, "not_found_error", {}),
    "model_not_found": (404, "not_found_error", {}),
    "backend_not_found": (404, "not_found_error", {}),
    "admin_key_required": (403, "permission_error", {}),
    "keys_required": (403, "permission_error", {}),
    "session_limit_exceeded": (403, "permission_error", {}),
    "rate_limit_exceeded": (429, "rate_limit_error", {}),
    # retry-after: the model server's own value when it sent one (UpstreamError.headers)
    "upstream_rate_limited": (429, "rate_limit_error", _RETRY),
    "no_backend": (503, "upstream_error", {}),
    "session_busy": (409, "conflict_error", _RETRY),
    "approval_pending": (409, "conflict_error", {}),
    "response_not_finished": (409, "conflict_error", {}),
    "too_many_turns": (503, "server_busy", _RETRY),
    "database_unavailable": (503, "server_error", _RETRY),
    "upstream_timeout": (504, "upstream_error", {}),
    "upstream_unreachable": (502, "upstream_error", {}),
    "upstream_error": (502, "upstream_error", {}),
    "upstream_bad_response": (502, "upstream_error", {}),
    "upstream_not_found": (502, "upstream_error", {}),
    "upstream_dropped": (502, "upstream_error", {}),
    "mcp_server_error": (502, "upstream_error", {}),
    "request_too_large": (413, "invalid_request_error", {}),
}
_BAD_REQUEST = (400, "invalid_request_error", {})


def codes_by_status() -> dict[int, list[str]]:
    """Every mapped code under the status it is answered with (400 also has the rest)."""
    found: dict[int, list[str]] = {}
    for code, (status, _, _) in _HTTP.items():
        found.setdefault(status, []).append(code)
    return found


def http_of(exc: AgentError) -> tuple[int, str, dict[str, str]]:
    """The status, OpenAI error type and headers a domain error is answered with."""
    status, kind, headers = _HTTP.get(exc.code or "", _BAD_REQUEST)
    return status, kind, {**headers, **exc.headers}


def agent_error_body(exc: AgentError) -> dict:
    """A domain error as the OpenAI error object (for SSE, where the status is sent)."""
    return error_body(exc.message, http_of(exc)[1], exc.param, exc.code)


def error_body(message: str, type: str, param: str | None = None, code: str | None = None) -> dict:
    """The OpenAI error object as a dict."""
    info = ErrorInfo(message=message, type=type, param=param, code=code)
    return ErrorResponse(error=info).model_dump()


def error_response(exc: AgentError) -> JSONResponse:
    """A domain error as an HTTP response."""
    status, _, headers = http_of(exc)
    return JSONResponse(agent_error_body(exc), status_code=status, headers=headers)


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts)


def _json_syntax_error(exc: RequestValidationError) -> JSONResponse | None:
    """A body that is not JSON: where (line, column) and what the parser expected."""
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") != "json_invalid" or not isinstance(exc.body, str | bytes):
        return None
    doc = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
    position = first["loc"][-1] if isinstance(first["loc"][-1], int) else 0
    where = json.JSONDecodeError(first.get("ctx", {}).get("error", "invalid JSON"), doc, position)
    near = doc[max(position - 20, 0) : position + 20].replace("\n", " ")
    message = (
        f"The request body is not valid JSON: {where.msg} at line {where.lineno}, "
        f"column {where.colno} (near `{near}`). Send a JSON object such as "
        '{"model": "...", "messages": [{"role": "user", "content": "..."}]}.'
    )
    return JSONResponse(error_body(message, "invalid_request_error", None, "invalid_json"), 400)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    if (syntax := _json_syntax_error(exc)) is not None:
        return syntax
    problems = []
    for item in exc.errors():
        where = _location(tuple(item.get("loc", ())))
        message = item.get("msg", "invalid").removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    first = exc.errors()[0] if exc.errors() else {}
    param = _location(tuple(first.get("loc", ()))) or None
    body = error_body(
        "Invalid request: " + "; ".join(problems), "invalid_request_error", param, "invalid_value"
    )
    return JSONResponse(body, status_code=400)


async def _agent_error(request: Request, exc: AgentError) -> JSONResponse:
    return error_response(exc)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    kind = _TYPES.get(exc.status_code, "invalid_request_error")
    headers = getattr(exc, "headers", None)
    return JSONResponse(error_body(str(exc.detail), kind), exc.status_code, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    body = error_body(
        f"Internal error ({type(exc).__name__}); the server log has the details.", "server_error"
    )
    # Answered outside the request-id middleware, so the id is added here.
    request_id = getattr(request.state, "request_id", None)
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return JSONResponse(body, status_code=500, headers=headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A failure of the session database: the 503 database_unavailable (or too_many_turns
    when the database answers but every connection is busy)."""
    known = await request.app.state.services.store.health.translate(exc)
    if known is None:
        return await _unexpected(request, exc)
    logger.warning("%s %s: %s", request.method, request.url.path, known.message)
    return error_response(known)


def register_exception_handlers(
    app: FastAPI, database_errors: tuple[type[Exception], ...] = ()
) -> None:
    """Map validation, agent, HTTP, database and unexpected errors to OpenAI-shaped
    responses; `database_errors` are the exception types the session store fails with."""
    for error_type in database_errors:
        app.add_exception_handler(error_type, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(AgentError, _agent_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
