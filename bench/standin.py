"""A fast stand-in model server speaking vLLM's chat-completions SSE wire, for benchmarks.

Run: `python bench/standin.py --port 8100 --tokens-per-second 100 --tokens 200`. Every
reply is `--tokens` tokens (or the request's `max_tokens`, if fewer) of `TOKEN` text, one
SSE chunk per token, paced at `--tokens-per-second` from the request's arrival (an absolute
schedule, so a late tick never slows the stream down). The chunks are rendered once at
start-up: serving a token costs one `send`, so the stand-in is never the bottleneck.

A raw ASGI app (no framework) under uvicorn: GET /v1/models, GET /health,
POST /v1/chat/completions (streamed or not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import uvicorn

MODEL = "gpt-oss-20b"
TOKEN = "tok "
"""Every token is `tok` and a digit and a space; counting `tok` in a text counts its tokens.
(The digits vary because LiteLLM ends a stream that repeats one chunk 100 times.)"""

_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _token(index: int) -> str:
    return f"{TOKEN.strip()}{index % 10} "


def _event(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


class Wire:
    """The pre-rendered bodies of one reply of `tokens` tokens."""

    def __init__(self, tokens: int) -> None:
        head = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 0}
        head["model"] = MODEL

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _event({**head, "choices": [choice]})

        self.tokens = tokens
        self.first = chunk({"role": "assistant", "content": ""})
        self.token_chunks = [chunk({"content": _token(i)}) for i in range(10)]
        self.last = chunk({}, "stop")
        self.head = head
        self.done = b"data: [DONE]\n\n"
        models = [{"id": MODEL, "object": "model", "owned_by": "standin", "max_model_len": 131072}]
        self.models = json.dumps({"object": "list", "data": models}).encode()

    def usage(self, tokens: int) -> dict[str, int]:
        return {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens}

    def full(self, tokens: int) -> bytes:
        message = {"role": "assistant", "content": "".join(_token(i) for i in range(tokens))}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        body = {**self.head, "object": "chat.completion", "choices": [choice]}
        return json.dumps({**body, "usage": self.usage(tokens)}).encode()


class StandIn:
    """The ASGI app."""

    def __init__(self, tokens: int, tokens_per_second: float) -> None:
        self.wire = Wire(tokens)
        self.interval = 1 / tokens_per_second if tokens_per_second > 0 else 0.0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if scope["method"] == "POST" and path.endswith("/chat/completions"):
            request = json.loads(await _body(receive) or b"{}")
            await self._chat(request, send)
        elif path.endswith("/models"):
            await _reply(send, 200, self.wire.models)
        elif path == "/health":
            await _reply(send, 200, b"{}")
        else:
            await _reply(send, 404, b'{"error": {"message": "not found"}}')

    async def _chat(self, request: dict[str, Any], send: Any) -> None:
        wire = self.wire
        tokens = min(request.get("max_tokens") or wire.tokens, wire.tokens)
        if not request.get("stream"):
            await asyncio.sleep(self.interval * tokens)
            await _reply(send, 200, wire.full(tokens))
            return
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await _more(send, wire.first)
        started = time.monotonic()
        for index in range(tokens):
            delay = started + (index + 1) * self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await _more(send, wire.token_chunks[index % 10])
        tail = wire.last
        if (request.get("stream_options") or {}).get("include_usage"):
            tail += _event({**wire.head, "choices": [], "usage": wire.usage(tokens)})
        await send({"type": "http.response.body", "body": tail + wire.done})


async def _body(receive: Any) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _more(send: Any, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _reply(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--tokens-per-second", type=float, default=100.0)
    args = parser.parse_args()
    app = StandIn(args.tokens, args.tokens_per_second)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
