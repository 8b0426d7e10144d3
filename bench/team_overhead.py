"""The added cost of routing over several backends and of the turn queue, at 64 turns at once.

Run: `uv run python bench/team_overhead.py [--rounds 5] [--turns 64]`. Starts two upstream
simulators and three oss-agent processes (sessions in memory, so the store is not measured):

* `single`: LLM_BASE_URL only, a turn limit far above the burst (the baseline);
* `routed`: LLM_BACKENDS_FILE with both simulators serving the model, health checks on;
* `routed+queue`: the same, with MAX_CONCURRENT_TURNS=8 so most turns wait in the queue.

Each round sends a burst of `--turns` concurrent non-streamed turns to each service, in an
order shuffled per round (interleaved, so drift hits all alike), and times the burst.
Prints the median burst time per service and its ratio to `single` from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import running_simulator

MODEL = "gpt-oss-20b"


def services(workdir: Path, a: str, b: str) -> dict[str, Service]:
    backends = workdir / "backends.json"
    both = [{"name": n, "base_url": url, "models": [MODEL]} for n, url in (("a", a), ("b", b))]
    backends.write_text(json.dumps(both))
    common = {"DATABASE_URL": "memory://", "LLM_MODEL": MODEL, "LLM_TIMEOUT": "120"}
    wide = {"MAX_CONCURRENT_TURNS": "1000", "MAX_QUEUED_TURNS": "1000"}
    routed = {"LLM_BACKENDS_FILE": str(backends), "BACKEND_HEALTH_INTERVAL": "1"}
    queued = {"MAX_CONCURRENT_TURNS": "8", "MAX_QUEUED_TURNS": "1000", "QUEUE_TIMEOUT": "120"}
    configs = {
        "single": common | wide,
        "routed": common | wide | routed,
        "routed+queue": common | routed | queued,
    }
    made = {}
    for name, env in configs.items():
        folder = workdir / name.replace("+", "-")
        folder.mkdir()
        made[name] = Service(service_env(a, folder, **env), folder)
    return made


async def burst(url: str, turns: int) -> float:
    """Seconds for `turns` concurrent turns, each a new session; every one must succeed."""
    limits = httpx.Limits(max_connections=turns)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=body) for _ in range(turns))
        )
        elapsed = time.perf_counter() - started
    failed = [r.status_code for r in answers if r.status_code != 200]
    if failed:
        raise RuntimeError(f"{len(failed)} turns failed: {failed[:5]}")
    return elapsed


def measure(running: dict[str, Service], rounds: int, turns: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in running}
    order = list(running)
    for name in order:  # warm-up: imports, first connections
        asyncio.run(burst(running[name].url, turns))
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            times[name].append(asyncio.run(burst(running[name].url, turns)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_simulator() as a, running_simulator() as b:
        running = services(Path(tmp), a.base_url, b.base_url)
        try:
            for svc in running.values():
                svc.start(timeout=120)
            times = measure(running, args.rounds, args.turns)
        finally:
            for svc in running.values():
                svc.stop()
    base = statistics.median(times["single"])
    print(f"{args.turns} concurrent turns, {args.rounds} interleaved rounds (median burst time)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:>14}: {median:7.3f} s   ratio {median / base:5.2f}")


if __name__ == "__main__":
    main()
