"""The streamed chat completion: a turn's events (api/turns.py) in, `chat.completion.chunk`
SSE events out."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import orjson
from fastapi import Depends, Header
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.types import Message, Receive, Scope, Send

from agent.errors import AgentError
from agent.settings import Settings
from api.completion import chat_annotations, public_activity, usage_of
from api.errors import agent_error_body, error_body
from api.logs import note
from api.protocol import new_completion_id
from api.turns import Activity, Delta, Done, TurnEvent
from graph.turn import TurnOutcome

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


class ChunkWriter:
    """Builds chunks that share one id and `created`, as OpenAI clients expect. A text delta's
    chunk is its pre-rendered head and tail around the quoted text (the same JSON
    `chunk` would write): the hot path renders only the text."""

    def __init__(self, model: str, include_usage: bool, tool_activity: bool = False) -> None:
        self.id = new_completion_id()
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.tool_activity = tool_activity
        head = json.dumps(self._head(), ensure_ascii=False)[:-1]
        self._delta_open = f'data: {head}, "choices": [{{"index": 0, "delta": {{"'.encode()
        close = '}, "logprobs": null, "finish_reason": null}]'
        self._delta_close = (close + (', "usage": null}' if include_usage else "}")).encode()

    def text(self, field: str, text: str) -> bytes:
        """A chunk whose delta is `{field: text}` (text parsed by orjson: no lone surrogate)."""
        quoted = orjson.dumps(text)
        parts = (self._delta_open, field.encode(), b'": ', quoted, self._delta_close, b"\n\n")
        return b"".join(parts)

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """One chunk with a single choice."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._dump({"choices": [choice]})

    def usage(self, turn: TurnOutcome) -> bytes:
        """The final usage chunk (empty `choices`)."""
        return self._dump({"choices": [], "usage": usage_of(turn).model_dump()})

    def _head(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }

    def _dump(self, body: dict[str, Any]) -> bytes:
        extra = {"usage": None} if self.include_usage and "usage" not in body else {}
        return sse_frame(json.dumps({**self._head(), **body, **extra}, ensure_ascii=False))


def delta_chunk(writer: ChunkWriter, event: Delta | Activity) -> bytes | None:
    """A content or reasoning delta (reasoning under both field names), or a server tool
    event under `delta.tool_activity` when the client asked for them."""
    if type(event) is Delta:
        if not event.text:
            return None
        if event.kind == "content":
            return writer.text("content", event.text)
        return writer.chunk({"reasoning_content": event.text, "reasoning": event.text})
    if writer.tool_activity:
        return writer.chunk({"tool_activity": public_activity(event.event)})
    return None


def tool_call_chunks(writer: ChunkWriter, calls: list[dict[str, Any]]) -> list[bytes]:
    """Each client tool call: index, id and name first, then its arguments."""
    chunks = []
    for index, call in enumerate(calls):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        chunks.append(writer.chunk({"tool_calls": [head]}))
        args = {"index": index, "function": {"arguments": call["function"]["arguments"]}}
        chunks.append(writer.chunk({"tool_calls": [args]}))
    return chunks


async def sse_events(events: AsyncIterator[TurnEvent], writer: ChunkWriter) -> AsyncIterator[bytes]:
    """The SSE events of a running turn (api/turns.py); errors are sent in-band; always ends
    with [DONE]. Closing this closes the turn's events (the turn is not stored)."""
    try:
        yield writer.chunk({"role": "assistant", "content": ""})
        async for event in events:
            if type(event) is Done:
                for frame in _end_frames(writer, event.outcome):
                    yield frame
            elif (frame := delta_chunk(writer, event)) is not None:  # type: ignore[arg-type]
                yield frame
    except AgentError as exc:
        yield sse_frame(json.dumps(agent_error_body(exc)))
    except Exception as exc:
        logger.exception("stream failed")
        yield sse_frame(
            json.dumps(error_body(f"Internal error ({type(exc).__name__})", "server_error"))
        )
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    yield sse_frame("[DONE]")


def _end_frames(writer: ChunkWriter, turn: TurnOutcome) -> list[bytes]:
    """Citations, the client's tool calls, the finish reason and the usage."""
    note(tokens=usage_of(turn).total_tokens)
    frames = []
    if turn.annotations:
        frames.append(writer.chunk({"annotations": chat_annotations(turn)}))
    frames += tool_call_chunks(writer, turn.tool_calls)
    frames.append(writer.chunk({}, turn.finish_reason))
    if writer.include_usage:
        frames.append(writer.usage(turn))
    return frames
