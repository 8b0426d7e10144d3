"""CPU of the HTTP client alone: httpx against aiohttp reading many paced SSE streams at once.

Run: `uv run python bench/http_client_cpu.py [--rounds 5] [--streams 64] [--tokens 128]`.

Why the model-call path uses aiohttp (agent/llm/http.py). The stand-in model server
(bench/standin.py, its own process) streams `--tokens` one-token SSE events per reply at
100 tokens/s; each client opens `--streams` of them at once and reads every body to its
end, counting events and doing nothing else. Each is configured as oss-agent configured it:
httpx with an unbounded pool keeping 64 connections, aiohttp with an unbounded connector.
CPU is this process's own (time.process_time), so the stand-in's is not counted:

* per event: a burst of `--tokens`-token replies, CPU over the events read (each
  request's own cost is spread over its events);
* per request: a burst of one-token replies, CPU over the requests.

Rounds alternate the two clients in a shuffled order; medians and ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.upstream_sim.fixtures import free_port, start_process

Burst = Callable[[int, int], Awaitable[int]]
HEADERS = {"content-type": "application/json"}


def body(tokens: int) -> bytes:
    messages = [{"role": "user", "content": "hi"}]
    return orjson.dumps({"model": "m", "messages": messages, "stream": True, "max_tokens": tokens})


def httpx_burst(client: httpx.AsyncClient, url: str) -> Burst:
    async def one(content: bytes) -> int:
        async with client.stream("POST", url, content=content, headers=HEADERS) as response:
            return sum([chunk.count(b"\n\n") async for chunk in response.aiter_raw()])

    async def burst(streams: int, tokens: int) -> int:
        return sum(await asyncio.gather(*[one(body(tokens)) for _ in range(streams)]))

    return burst


def aiohttp_burst(session: aiohttp.ClientSession, url: str) -> Burst:
    async def one(content: bytes) -> int:
        async with session.post(url, data=content, headers=HEADERS) as response:
            return sum([chunk.count(b"\n\n") async for chunk in response.content.iter_any()])

    async def burst(streams: int, tokens: int) -> int:
        return sum(await asyncio.gather(*[one(body(tokens)) for _ in range(streams)]))

    return burst


async def cpu_of(burst: Burst, streams: int, tokens: int) -> tuple[float, int]:
    began = time.process_time()
    events = await burst(streams, tokens)
    return time.process_time() - began, events


async def measure(url: str, args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(60), limits=limits) as hx,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as aio,
    ):
        clients = {"httpx": httpx_burst(hx, url), "aiohttp": aiohttp_burst(aio, url)}
        results: dict[str, dict[str, list[float]]] = {
            name: {"event": [], "request": []} for name in clients
        }
        for burst in clients.values():  # warm-up: connections, imports
            await burst(4, 4)
        for _ in range(args.rounds):
            order = list(clients)
            random.shuffle(order)
            for name in order:
                spent, events = await cpu_of(clients[name], args.streams, args.tokens)
                results[name]["event"].append(spent / events * 1e6)
                spent, _ = await cpu_of(clients[name], args.streams, 1)
                results[name]["request"].append(spent / args.streams * 1e3)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    port = free_port()
    standin = Path(__file__).with_name("standin.py")
    cmd = [sys.executable, str(standin), "--port", str(port), "--tokens", str(args.tokens)]
    with start_process(
        [*cmd, "--tokens-per-second", "100"], None, f"http://127.0.0.1:{port}/health"
    ):
        results = asyncio.run(measure(f"http://127.0.0.1:{port}/v1/chat/completions", args))
    medians = {
        name: {k: statistics.median(v) for k, v in rows.items()} for name, rows in results.items()
    }
    print(
        f"{args.streams} streams at once, {args.tokens}-token replies at 100 tok/s, "
        f"{args.rounds} rounds, medians (CPU of this process)"
    )
    print("| client | CPU per event | CPU per request (1-token replies) |")
    print("|---|---|---|")
    for name, row in medians.items():
        print(f"| {name} | {row['event']:.1f} µs | {row['request']:.2f} ms |")
    ratio_event = medians["aiohttp"]["event"] / medians["httpx"]["event"]
    ratio_request = medians["aiohttp"]["request"] / medians["httpx"]["request"]
    print(f"aiohttp / httpx: {ratio_event:.2f} per event, {ratio_request:.2f} per request")


if __name__ == "__main__":
    main()
