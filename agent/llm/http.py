"""The HTTP exchange with a model server: one kept aiohttp session for them all, JSON
bodies out, JSON replies or SSE events in (parsed with orjson), nothing built per chunk.

aiohttp rather than httpx on this path: reading 64 paced streams at once, httpx spent 180 µs
of CPU per streamed event and 10.7 ms per request (its pool scans every connection for each
request, and every read enters an anyio cancel scope), aiohttp 29 µs and 0.19 ms
(bench/http_client_cpu.py).

LLM_TIMEOUT bounds connecting and each read, LLM_DEADLINE the whole call; LLM_MAX_RETRIES
retries only a connection that failed before any response byte (never a timeout). A call
cancelled midway closes its connection at once. Failures: agent/llm/failures.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson

from agent.inflight import calls_in_flight
from agent.llm.backend_config import BackendSpec
from agent.llm.failures import (
    DeadlineExceeded,
    UpstreamMalformed,
    UpstreamReported,
    UpstreamStatus,
    UpstreamTruncated,
    clip,
)
from agent.llm.wire import REASONING_INPUT_FIELD
from agent.metrics import UPSTREAM_CANCELLED
from agent.settings import Settings, UpstreamKind

RETRY_BACKOFF = 0.5  # seconds before the first retry; doubled for each further one
KEEPALIVE_SECONDS = 4.0
"""How long an idle connection is kept: under the 5 s after which uvicorn (vLLM's server)
closes one, so a request is not written to a connection the server is closing (a matrix
run lost one stream of 64 that way with aiohttp's default of 15 s)."""
# Failures while sending the request or waiting for the status line: nothing was answered,
# so asking again cannot duplicate a reply.
# (ClientOSError covers a refused connection and a reset one; timeouts are not among them.)
_BEFORE_ANY_BYTE = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)


class ModelHttp:
    """The process's kept connections to its model servers: one aiohttp session (pooled
    per host), made on first use in the running event loop (a session belongs to the loop
    it was made in). The backend pool owns it and closes it at shutdown."""

    def __init__(self, timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # no cap on connections: the turn limit is the cap
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None


def env_proxy(url: str) -> str | None:
    """The proxy HTTP(S)_PROXY and NO_PROXY name for `url`, read once: aiohttp's own
    `trust_env` reads them, and ~/.netrc, on a thread for every request."""
    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


@dataclass(frozen=True)
class ModelServer:
    """One model server as this process talks to it."""

    base_url: str
    """As configured (a password in it is masked wherever it is shown)."""
    model: str
    kind: UpstreamKind
    http: ModelHttp
    retries: int
    deadline: float
    headers: dict[str, str]
    """Sent with every request: the API key's, the JSON content type."""
    proxy: str | None
    request_root: str
    """The base URL requests go to: `base_url` without the user and password in it."""

    @property
    def reasoning_field(self) -> str:
        """Where this kind of server reads an earlier assistant turn's reasoning."""
        return REASONING_INPUT_FIELD[self.kind]

    def single_try(self) -> ModelServer:
        """The same server and connection pool, without retries."""
        return replace(self, retries=0)


def model_server(settings: Settings, backend: BackendSpec, http: ModelHttp) -> ModelServer:
    """`backend` as this process calls it, serving its first model, over `http`."""
    key = backend.api_key.get_secret_value() if backend.api_key else None
    headers = {"content-type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    root, basic = split_credentials(backend.base_url.rstrip("/"))
    if basic is not None:  # credentials in the URL are HTTP Basic auth, as httpx sent them
        headers["Authorization"] = basic
    return ModelServer(
        base_url=backend.base_url.rstrip("/"),
        model=backend.models[0],
        kind=backend.server,
        http=http,
        retries=settings.llm_max_retries,
        deadline=settings.llm_deadline,
        headers=headers,
        proxy=env_proxy(backend.base_url),
        request_root=root,
    )


def split_credentials(url: str) -> tuple[str, str | None]:
    """`url` without the user:password in it, and the Basic Authorization they stand for."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    bare = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return bare, "Basic " + base64.b64encode(pair.encode()).decode()


async def get_json(server: ModelServer, path: str) -> Any:
    """GET `path` under the base URL; its JSON."""
    async with _bounded(server), _opened(server, "GET", path, None) as response:
        return _json(await response.read())


async def post_json(server: ModelServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a JSON body, read the whole JSON object answered."""
    async with _bounded(server), _opened(server, "POST", path, body) as response:
        reply = _json(await response.read())
    if not isinstance(reply, dict):
        raise UpstreamMalformed(f"the reply is JSON but not an object: {clip(reply)}")
    return reply


async def post_stream(
    server: ModelServer, path: str, body: dict[str, Any]
) -> AsyncIterator[list[dict[str, Any]]]:
    """POST a streaming request; the SSE data objects of each network read, until `[DONE]`.
    After `[DONE]` the rest of the body is read, so the connection goes back to the pool
    instead of being closed. Close the iterator to end the call early (its connection is
    closed at once)."""
    async with _bounded(server), _opened(server, "POST", path, body) as response:
        reader = SseReader()
        chunks = response.content.iter_any()
        finished = False
        async for chunk in chunks:
            events, done, error = _read(reader.feed(chunk))
            finished = finished or any(map(_has_finish, events))
            if events:  # even those before an error the same read brought
                yield events
            if error is not None:
                raise error
            if done:
                await _drain(chunks)
                return
        events, done, error = _read(reader.end())
        if events:
            yield events
        if error is not None:
            raise error
        if not (done or finished or any(map(_has_finish, events))):
            raise UpstreamTruncated("the stream ended without [DONE] and without a finish reason")


def _read(data: list[bytes]) -> tuple[list[dict[str, Any]], bool, Exception | None]:
    """The data objects of one network read's events up to `[DONE]`, whether it came, and
    what an event that is not one raises (or the error the server sent), to be raised after
    the events before it."""
    events = []
    for piece in _pieces(data):
        if piece == b"[DONE]":
            return events, True, None
        try:
            events.append(_event(piece))
        except (UpstreamMalformed, UpstreamReported) as exc:
            return events, False, exc
    return events, False, None


def _pieces(events: list[bytes]) -> list[bytes]:
    """The events' data; one of several lines that is not JSON as a whole is read line by
    line (a server that leaves out the blank line between events)."""
    if not any(b"\n" in data for data in events):
        return events
    pieces = []
    for data in events:
        try:
            orjson.loads(data)
            pieces.append(data)
        except orjson.JSONDecodeError:
            pieces += [line.strip() for line in data.split(b"\n") if line.strip()]
    return pieces


def _event(data: bytes) -> dict[str, Any]:
    """One event's data object; an error the server sent in the stream raised."""
    event = _json(data)
    if not isinstance(event, dict):
        raise UpstreamMalformed(f"a stream event that is not an object: {clip(data)}")
    if "error" in event and not event.get("choices"):
        raise UpstreamReported(_error_text(event["error"]))
    return event


DRAIN_SECONDS = 1.0
"""How long the body after `[DONE]` may take to end before the connection is closed."""


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` (normally only the end of the body)."""
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                pass


class SseReader:
    """Server-sent events from raw bytes: each event's `data` lines (less the one space
    after the colon) joined with newlines, then stripped. Hand-written over bytes rather
    than a text-line reader: the stream is read for every token, and this skips decoding
    and two generator layers per read."""

    _OTHER_FIELDS = (b":", b"event:", b"id:", b"retry:")

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The data of every event that `chunk` completes."""
        lines = (self._tail + chunk if self._tail else chunk).split(b"\n")
        self._tail = lines.pop()
        events: list[bytes] = []
        for line in lines:
            self._line(line.removesuffix(b"\r"), events)
        return events

    def end(self) -> list[bytes]:
        """The data of an event the body ended without a blank line after."""
        events: list[bytes] = []
        if self._tail:
            self._line(self._tail.removesuffix(b"\r"), events)
            self._tail = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line:
            if self._data:
                events.append(b"\n".join(self._data).strip())
                self._data = []
        elif line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        elif not line.startswith(self._OTHER_FIELDS):
            text = line.decode(errors="replace")
            raise UpstreamMalformed(f"a stream line that is not SSE: {clip(text)}")


@contextlib.asynccontextmanager
async def _bounded(server: ModelServer) -> AsyncIterator[None]:
    """LLM_DEADLINE over the whole call; a cancellation from outside closes the connection
    (leaving `_opened`) and is counted."""
    calls = calls_in_flight()
    task = asyncio.current_task()
    if calls is not None and task is not None:
        calls.add(task)
    deadline = asyncio.timeout(server.deadline)
    try:
        async with deadline:
            yield
    except TimeoutError:
        if not deadline.expired():
            raise  # a read that outlasted LLM_TIMEOUT (aiohttp's timeouts are TimeoutErrors)
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
) -> AsyncIterator[aiohttp.ClientResponse]:
    """The response with its status checked; the connection closes when the block ends."""
    content = orjson.dumps(body) if body is not None else None
    session = server.http.session()
    url = server.request_root + path
    for attempt in range(server.retries + 1):
        try:
            response = await session.request(
                method,
                url,
                data=content,
                headers=server.headers,
                proxy=server.proxy,
                allow_redirects=False,  # a 3xx is named to the operator, never followed
            )
            break
        except _BEFORE_ANY_BYTE:
            if attempt == server.retries:
                raise
            await asyncio.sleep(RETRY_BACKOFF * 2**attempt)
    try:
        if response.status >= 300:
            raise UpstreamStatus(response.status, _body(await response.read()), response.headers)
        yield response
    except BaseException:
        response.close()  # at once, so the server stops generating for nobody
        raise
    response.release()  # back to the pool if the body was read to its end, else closed


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
