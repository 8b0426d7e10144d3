"""The SSE response of a running turn, for every API that streams one: its send timeout,
its shutdown grace, and what a client that leaves does to the turn (X-On-Disconnect)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, Header
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message, Receive, Scope, Send

from agent.errors import AgentError
from agent.settings import Settings

logger = logging.getLogger(__name__)


ON_DISCONNECT_HEADER = "X-On-Disconnect"
"""`cancel` (the default): a client that leaves a streamed turn cancels it and nothing of it
is stored. `finish`: the turn goes on without the client and is stored when it ends."""
PING_SECONDS = 15
"""A comment line this often keeps proxies from closing a quiet stream (a long tool call)."""
SERVER_SEND = "oss_agent.server_send"
"""Scope key of the server's own `send` (api/app.py puts it there)."""


class TurnEventStream(EventSourceResponse):
    """The SSE response of a running turn. A client that leaves one write waiting longer
    than `send_timeout` (it does not read) is treated as gone: the body is closed, which
    rolls the turn back and frees its slot and session, as a disconnect does.

    The response's start and its last message go through the middleware stack; the events
    between them go straight to the server's `send`: every layer wraps `send` only to see
    the start and the end, and was a Python call per token besides. No middleware here
    rewrites a body (nothing compresses event streams)."""

    _watch: SendWatch | None = None
    _server_send: Send | None = None
    finish_without_client = False
    """X-On-Disconnect: finish. The client's leaving does not end the stream: the turn runs
    to its end (the server drops what is written to a closed connection) and is stored."""

    @classmethod
    def of(
        cls,
        body: AsyncIterator[bytes],
        settings: Settings,
        headers: dict[str, str],
        finish_without_client: bool = False,
        **kw: Any,
    ) -> TurnEventStream:
        """The stream of one turn, with the settings' send timeout and shutdown grace: when
        the server is told to stop, a running turn gets SHUTDOWN_GRACE seconds to finish
        (sse-starlette would end every stream at once, rolling each turn back)."""
        stream = cls(
            body,
            headers=headers,
            ping=PING_SECONDS,
            send_timeout=settings.stream_send_timeout,
            shutdown_grace_period=settings.shutdown_grace,
            **kw,
        )
        stream.finish_without_client = finish_without_client
        return stream

    async def _listen_for_disconnect(self, receive: Receive) -> None:
        if not self.finish_without_client:
            await super()._listen_for_disconnect(receive)
            return
        while (await receive())["type"] != "http.disconnect":
            pass
        logger.info("client left; its turn goes on (%s: finish)", ON_DISCONNECT_HEADER)
        await anyio.sleep_forever()  # the stream's end ends the response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._server_send = scope.get(SERVER_SEND)
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            logger.warning(
                "client read nothing for %g s (STREAM_SEND_TIMEOUT): turn cancelled, not stored",
                self.send_timeout,
            )
        finally:
            if self._watch is not None:
                self._watch.stop()

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        """sse-starlette's per-send timeout, kept by one timer per stream (SendWatch)
        instead of a cancel scope entered for every event."""
        if self._server_send is not None and message.get("more_body"):
            send = self._server_send
        if self.send_timeout is None:
            await send(message)
            return
        if self._watch is None:
            self._watch = SendWatch(self.send_timeout)
        task = self._watch.begin()
        try:
            await send(message)
        except asyncio.CancelledError:
            if not self._watch.timed_out(task):
                raise
            task.uncancel()
            raise SendTimeoutError() from None
        finally:
            self._watch.end(task)


class SendWatch:
    """Cancels a send that has waited `timeout` seconds. A send costs two dict writes; the
    timer is armed for the oldest send in progress and re-armed when it fires early."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._since: dict[asyncio.Task[Any], float] = {}
        self._cancelled: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def begin(self) -> asyncio.Task[Any]:
        task = asyncio.current_task()
        assert task is not None
        self._since[task] = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_at(self._since[task] + self.timeout, self._check)
        return task

    def end(self, task: asyncio.Task[Any]) -> None:
        self._since.pop(task, None)

    def timed_out(self, task: asyncio.Task[Any]) -> bool:
        """Whether this watch cancelled `task`'s send (not something else)."""
        if task in self._cancelled:
            self._cancelled.discard(task)
            return True
        return False

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        now = self._loop.time()
        for task, since in list(self._since.items()):
            if now - since >= self.timeout:
                del self._since[task]
                self._cancelled.add(task)
                task.cancel()
        if self._since:
            oldest = min(self._since.values())
            self._timer = self._loop.call_at(oldest + self.timeout, self._check)


async def finish_on_disconnect(
    value: Annotated[str | None, Header(alias=ON_DISCONNECT_HEADER)] = None,
) -> bool:
    """Whether a streamed turn goes on when its client leaves (X-On-Disconnect)."""
    choice = (value or "cancel").strip().lower()
    if choice not in ("cancel", "finish"):
        raise AgentError(
            f"{ON_DISCONNECT_HEADER} is 'cancel' (a client that leaves a streamed turn cancels"
            f" it, the default) or 'finish' (the turn goes on and is stored), not {value!r}.",
            param=ON_DISCONNECT_HEADER,
            code="invalid_request",
        )
    return choice == "finish"


FinishOnDisconnect = Annotated[bool, Depends(finish_on_disconnect)]


def sse_frame(payload: str) -> bytes:
    """One SSE event, ready to send: sse-starlette passes bytes through as they are."""
    return b"data: " + payload.encode() + b"\n\n"
