"""The HTTP exchange with a model server: one kept `httpx.AsyncClient` per backend, JSON
bodies out, JSON replies or SSE events in (parsed with orjson), nothing built per chunk.

LLM_TIMEOUT bounds connecting and each read, LLM_DEADLINE the whole call; LLM_MAX_RETRIES
retries only a connection that failed before any response byte (never a timeout). A call
cancelled midway closes its connection at once. Failures: agent/upstream_failures.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson

from agent.backend_config import BackendSpec
from agent.inflight import calls_in_flight
from agent.metrics import UPSTREAM_CANCELLED
from agent.model import REASONING_INPUT_FIELD
from agent.settings import Settings, UpstreamKind
from agent.upstream_failures import (
    DeadlineExceeded,
    UpstreamMalformed,
    UpstreamReported,
    UpstreamStatus,
    UpstreamTruncated,
    clip,
)

OnEvent = Callable[[dict[str, Any]], None]
"""Receives each parsed SSE data object of a stream, in order."""

RETRY_BACKOFF = 0.5  # seconds before the first retry; doubled for each further one
# Failures while sending the request or waiting for the status line: nothing was answered,
# so asking again cannot duplicate a reply.
_BEFORE_ANY_BYTE = (
    httpx.ConnectError,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


@dataclass(frozen=True)
class ModelServer:
    """One model server as this process talks to it."""

    base_url: str
    model: str
    kind: UpstreamKind
    http: httpx.AsyncClient
    retries: int
    deadline: float

    @property
    def reasoning_field(self) -> str:
        """Where this kind of server reads an earlier assistant turn's reasoning."""
        return REASONING_INPUT_FIELD[self.kind]

    def single_try(self) -> ModelServer:
        """The same server and connection pool, without retries."""
        return replace(self, retries=0)


def model_server(settings: Settings, backend: BackendSpec) -> ModelServer:
    """A kept client for `backend`, serving its first model."""
    key = backend.api_key.get_secret_value() if backend.api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.llm_timeout),
        headers=headers,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
    )
    return ModelServer(
        base_url=backend.base_url.rstrip("/"),
        model=backend.models[0],
        kind=backend.server,
        http=http,
        retries=settings.llm_max_retries,
        deadline=settings.llm_deadline,
    )


async def get_json(server: ModelServer, path: str) -> Any:
    """GET `path` under the base URL; its JSON."""
    async with _bounded(server), _opened(server, "GET", path, None) as response:
        return _json(await response.aread())


async def post_json(server: ModelServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a JSON body, read the whole JSON object answered."""
    async with _bounded(server), _opened(server, "POST", path, body) as response:
        reply = _json(await response.aread())
    if not isinstance(reply, dict):
        raise UpstreamMalformed(f"the reply is JSON but not an object: {clip(reply)}")
    return reply


async def post_stream(
    server: ModelServer, path: str, body: dict[str, Any], on_event: OnEvent
) -> None:
    """POST a streaming request; pass each SSE data object to `on_event` until `[DONE]`."""
    async with _bounded(server), _opened(server, "POST", path, body) as response:
        finished = False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                if line and not line.startswith((":", "event:", "id:", "retry:")):
                    raise UpstreamMalformed(f"a stream line that is not SSE: {clip(line)}")
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            event = _json(data)
            if not isinstance(event, dict):
                raise UpstreamMalformed(f"a stream event that is not an object: {clip(data)}")
            if "error" in event and not event.get("choices"):
                raise UpstreamReported(_error_text(event["error"]))
            on_event(event)
            finished = finished or _has_finish(event)
    if not finished:
        raise UpstreamTruncated("the stream ended without [DONE] and without a finish reason")


@contextlib.asynccontextmanager
async def _bounded(server: ModelServer) -> AsyncIterator[None]:
    """LLM_DEADLINE over the whole call; a cancellation from outside closes the connection
    (leaving `_opened`) and is counted."""
    calls = calls_in_flight()
    task = asyncio.current_task()
    if calls is not None and task is not None:
        calls.add(task)
    try:
        async with asyncio.timeout(server.deadline):
            yield
    except TimeoutError:
        raise DeadlineExceeded(f"no complete reply within {server.deadline:g} s") from None
    except asyncio.CancelledError:
        UPSTREAM_CANCELLED.inc()
        raise
    finally:
        if calls is not None:
            calls.discard(task)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _opened(
    server: ModelServer, method: str, path: str, body: dict[str, Any] | None
) -> AsyncIterator[httpx.Response]:
    """The response with its status checked; the connection closes when the block ends."""
    content = orjson.dumps(body) if body is not None else None
    headers = {"content-type": "application/json"} if content is not None else None
    request = server.http.build_request(
        method, server.base_url + path, content=content, headers=headers
    )
    for attempt in range(server.retries + 1):
        try:
            response = await server.http.send(request, stream=True)
            break
        except _BEFORE_ANY_BYTE:
            if attempt == server.retries:
                raise
            await asyncio.sleep(RETRY_BACKOFF * 2**attempt)
    try:
        if response.status_code >= 300:
            raise UpstreamStatus(
                response.status_code, _body(await response.aread()), response.headers
            )
        yield response
    finally:
        # shielded: a second cancellation (the graph's own, after ours) must not cut the
        # close short and leave the upstream generating into an open connection
        await asyncio.shield(response.aclose())


def _json(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamMalformed(f"the reply is not JSON ({exc}): {clip(data)}") from None


def _body(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode(errors="replace")


def _has_finish(event: dict[str, Any]) -> bool:
    choices = event.get("choices")
    return bool(choices) and isinstance(choices[0], dict) and bool(choices[0].get("finish_reason"))


def _error_text(error: Any) -> str:
    return str(error.get("message") or error) if isinstance(error, dict) else str(error)
