"""Thin ASGI helpers: one request/response exchange, raw sends, and connection faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class Exchange:
    """One HTTP request with its ASGI channels; the body is read up front."""

    scope: dict[str, Any]
    receive: Receive
    send: Send
    raw_body: bytes
    record: dict[str, Any] | None = None
    """The request's entry in the simulator's log (a stream adds how it ended)."""

    @property
    def path(self) -> str:
        return self.scope["path"]

    @property
    def method(self) -> str:
        return self.scope["method"]

    def headers(self) -> dict[str, str]:
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope["headers"]}

    def json(self) -> Any:
        """The parsed body; raises ValueError when it is not JSON."""
        return json.loads(self.raw_body or b"null")


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def start(send: Send, status: int, content_type: str, extra: dict[str, str]) -> None:
    headers = [(b"content-type", content_type.encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def send_whole(
    ex: Exchange, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
) -> None:
    length = {"content-length": str(len(body))}
    await start(ex.send, status, content_type, {**length, **(extra or {})})
    await ex.send({"type": "http.response.body", "body": body})


async def send_json(ex: Exchange, status: int, obj: Any) -> None:
    body = json.dumps(obj, ensure_ascii=False).encode()
    await send_whole(ex, status, "application/json", body)


async def wait_for_disconnect(receive: Receive, timeout: float | None = None) -> None:
    """Block until the client goes away (or `timeout` passes)."""

    async def _until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_until_disconnect(), timeout)


async def close_connection(ex: Exchange, reset: bool) -> None:
    """Close the socket under the server: a TCP RST if `reset`, else a plain FIN."""
    # uvicorn's receive() is a bound method of its RequestResponseCycle, which holds the
    # transport; ASGI itself offers no way to drop a connection.
    transport = getattr(getattr(ex.receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("simulated connection fault (no transport to close)")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    await wait_for_disconnect(ex.receive, timeout=2.0)
