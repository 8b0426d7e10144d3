"""The demo model on the wire: a small OpenAI-compatible server (chat completions, streamed
and not, `/v1/models`) that `oss-agent serve --demo` runs in a thread on a free loopback port
and points LLM_BASE_URL at.

It speaks like vLLM serving gpt-oss with its reasoning parser but no tool-call parser:
reasoning in `reasoning`, and a tool call as harmony markup in `content`, so the service's
own tool-call parsing turns it into `tool_calls`, as it does for a real server. Streamed
pieces are paced, so the chat page shows tokens arriving.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.demo_model import DEMO_MODEL_ID, Reply, ToolCall, reply_to

PACE_SECONDS = 0.03  # between streamed pieces
CONTEXT_LENGTH = 32768  # reported as max_model_len
CALL_TOKEN_ID = 200012  # <|call|>: vLLM's stop_reason after a tool call
START_TIMEOUT = 10.0


def harmony_call(call: ToolCall) -> str:
    """A tool call as gpt-oss writes it (the server drops the final <|call|> stop token)."""
    arguments = json.dumps(call.arguments, separators=(",", ":"))
    return f"<|channel|>commentary to=functions.{call.name} <|constrain|>json<|message|>{arguments}"


def pieces(text: str, markup: bool) -> list[str]:
    """Stream deltas: words, or for markup short slices that cut through its tokens."""
    if markup:
        return [text[i : i + 7] for i in range(0, len(text), 7)]
    return re.findall(r"\s*\S+", text)


class Turn:
    """One answer to one request, in both wire shapes."""

    def __init__(self, reply: Reply, body: dict[str, Any]) -> None:
        self.reply = reply
        self.content = harmony_call(reply.call) if reply.call else reply.content
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = body.get("model") or DEMO_MODEL_ID
        prompt = len(json.dumps(body.get("messages"))) // 4
        completion = (len(reply.reasoning) + len(self.content)) // 4 + 1
        self.usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        self.stop_reason = CALL_TOKEN_ID if reply.call else None

    def envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def full(self) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.content, "reasoning": self.reply.reasoning}
        choice = {
            "index": 0,
            "message": message,
            "finish_reason": "stop",
            "stop_reason": self.stop_reason,
        }
        return {**self.envelope("chat.completion"), "choices": [choice], "usage": self.usage}

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        if finish:
            choice["stop_reason"] = self.stop_reason
        return {**self.envelope("chat.completion.chunk"), "choices": [choice]}

    async def events(self, include_usage: bool) -> AsyncIterator[str]:
        yield _sse(self.chunk({"role": "assistant", "content": ""}))
        for piece in pieces(self.reply.reasoning, markup=False):
            await asyncio.sleep(PACE_SECONDS)
            yield _sse(self.chunk({"reasoning": piece}))
        for piece in pieces(self.content, markup=self.reply.call is not None):
            await asyncio.sleep(PACE_SECONDS)
            yield _sse(self.chunk({"content": piece}))
        yield _sse(self.chunk({}, finish="stop"))
        if include_usage:
            last = {**self.envelope("chat.completion.chunk"), "choices": [], "usage": self.usage}
            yield _sse(last)
        yield "data: [DONE]\n\n"


def _sse(value: dict[str, Any]) -> str:
    return f"data: {json.dumps(value)}\n\n"


def _bad_request(message: str) -> JSONResponse:
    error = {"message": message, "type": "BadRequestError", "param": None, "code": 400}
    return JSONResponse({"error": error}, status_code=400)


async def chat_completions(request: Request) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return _bad_request("the body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _bad_request("`messages` must be a list of messages")
    tools = None if body.get("tool_choice") == "none" else body.get("tools")
    turn = Turn(reply_to(body["messages"], tools), body)
    if not body.get("stream"):
        return JSONResponse(turn.full())
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return StreamingResponse(turn.events(include_usage), media_type="text/event-stream")


async def models(_: Request) -> JSONResponse:
    card = {
        "id": DEMO_MODEL_ID,
        "object": "model",
        "created": 0,
        "owned_by": "oss-agent",
        "max_model_len": CONTEXT_LENGTH,
    }
    return JSONResponse({"object": "list", "data": [card]})


async def health(_: Request) -> Response:
    return Response()


demo_app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models),
        Route("/health", health),
    ]
)


class DemoModelServer:
    """The demo model served on a free loopback port from a thread of this process."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            demo_app, log_config=None, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"

    def start(self) -> DemoModelServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo model server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(START_TIMEOUT)
        self._socket.close()
