"""The client side of the streaming matrix: first token, and a burst of concurrent streams.

Streams are read with httpx; a burst counts tokens in the raw bytes (`tok` occurrences) so
the client does as little work per token as it can and every target is read the same way.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import httpx

from bench.matrix_targets import Target
from bench.standin import MODEL, TOKEN

_WORD = TOKEN.strip().encode()


def chat_body(max_tokens: int | None = None) -> dict:
    """A streamed request with a message of its own (no session continues another)."""
    question = f"bench {uuid.uuid4().hex}"
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": question}]}
    return body if max_tokens is None else {**body, "max_tokens": max_tokens}


@dataclass
class FirstToken:
    seconds: float
    """From sending the request to the first chunk with content text."""
    tokens: int
    """Tokens in that first content delta."""


def _content(line: str) -> str:
    if not line.startswith("data:") or line.endswith("[DONE]"):
        return ""
    choices = json.loads(line[5:]).get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content") or ""


async def first_token(target: Target, client: httpx.AsyncClient, tokens: int) -> FirstToken:
    """One stream of `tokens` tokens, read to its end; the time and size of its first
    content delta."""
    found: FirstToken | None = None
    started = time.perf_counter()
    body = chat_body(tokens)
    async with client.stream("POST", target.url, json=body, headers=target.headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if found is None and (text := _content(line)):
                found = FirstToken(time.perf_counter() - started, text.count(_WORD.decode()))
    if found is None:
        raise RuntimeError(f"{target.name}: a stream without content")
    return found


async def _count_tokens(
    target: Target, client: httpx.AsyncClient, tokens: int
) -> tuple[int, bytes]:
    """The tokens one stream of a `tokens`-token answer delivered, and its last bytes (to
    show what went wrong)."""
    count, tail, last = 0, b"", b""
    body = chat_body(tokens)
    async with client.stream("POST", target.url, json=body, headers=target.headers) as response:
        async for data in response.aiter_raw():
            joined = tail + data
            count += joined.count(_WORD)
            tail = joined[-(len(_WORD) - 1) :]
            last = data
    return count, last[-300:]


@dataclass
class Burst:
    seconds: float
    tokens: int
    """Tokens delivered by all streams."""
    failed: int
    """Streams that ended before their last token (an error, in-band or not)."""

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds


async def burst(target: Target, client: httpx.AsyncClient, streams: int, tokens: int) -> Burst:
    """`streams` concurrent streams that should each deliver `tokens` tokens."""
    started = time.perf_counter()
    ends = await asyncio.gather(*(_count_tokens(target, client, tokens) for _ in range(streams)))
    elapsed = time.perf_counter() - started
    short = [(count, last) for count, last in ends if count != tokens]
    if short:
        print(f"{target.name}: {len(short)} of {streams} streams fell short: {short[0]}")
    return Burst(elapsed, sum(count for count, _ in ends), len(short))


def client_for(streams: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    return httpx.AsyncClient(timeout=httpx.Timeout(120), limits=limits)
