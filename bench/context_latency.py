"""Turn latency as a session grows: 10, 100 and 1,000 stored messages.

Run: `uv run python -m bench.context_latency [--rounds 10] [--window 8192]`. Starts the
upstream simulator and one oss-agent process (sessions in SQLite, CONTEXT_WINDOW=--window, so
the longer sessions are trimmed to fit). Each round makes, for every size in an order shuffled
per round, a session holding that many messages (one request carrying the history, not
timed), then times one more non-streamed turn on it. Prints the median turn time per size
and its ratio to 10 messages from the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import running_simulator

SIZES = (10, 100, 1000)
FILLER = "a sentence of ordinary length to stand for a message in a long chat"


def history(size: int) -> list[dict[str, str]]:
    """`size - 1` alternating messages ending with a user message (the reply makes `size`)."""
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": f"{i}: {FILLER}"} for i in range(size - 1)]


def timed_turn(client: httpx.Client, size: int) -> float:
    created = client.post("/v1/chat/completions", json={"model": "m", "messages": history(size)})
    created.raise_for_status()
    headers = {"X-Session-ID": created.headers["x-session-id"]}
    body = {"model": "m", "messages": [{"role": "user", "content": "and one more"}]}
    started = time.perf_counter()
    answer = client.post("/v1/chat/completions", json=body, headers=headers)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed


def measure(url: str, rounds: int) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {size: [] for size in SIZES}
    order = list(SIZES)
    with httpx.Client(base_url=url, timeout=120) as client:
        for size in order:  # warm-up
            timed_turn(client, size)
        for _ in range(rounds):
            random.shuffle(order)
            for size in order:
                times[size].append(timed_turn(client, size))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--window", type=int, default=8192)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_simulator() as sim:
        env = service_env(
            sim.base_url, Path(tmp), CONTEXT_WINDOW=str(args.window), LLM_TIMEOUT="120"
        )
        svc = Service(env, Path(tmp)).start(timeout=120)
        try:
            times = measure(svc.url, args.rounds)
        finally:
            svc.stop()
    base = statistics.median(times[SIZES[0]])
    print(f"one turn, {args.rounds} interleaved rounds, CONTEXT_WINDOW={args.window} (median)")
    for size, values in times.items():
        median = statistics.median(values)
        print(f"{size:>5} stored messages: {median * 1000:8.1f} ms   ratio {median / base:5.2f}")


if __name__ == "__main__":
    main()
