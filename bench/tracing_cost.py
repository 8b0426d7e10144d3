"""What OpenTelemetry tracing costs the service: CPU per turn and per token, off and on.

Run: `uv run python bench/tracing_cost.py [--rounds 7] [--turns 20] [--tokens 200]`.

Three oss-agent processes in front of one fast stand-in model server (bench/standin.py):
tracing off (no OTEL_* variable), on (OTLP/HTTP to a receiver in this process, which
decodes every export), and on with message content captured. Each round runs `--turns`
streamed turns of `--tokens` tokens on each service, in a shuffled order (interleaved, so
load from elsewhere on the machine falls on all of them alike); the service process's
CPU (user + system, read from /proc) is divided by turns and by tokens. Medians and the
ratios to "off" are printed; nothing is asserted.

`--compare TREE` adds a fourth service run from another source tree (e.g. a `git archive`
of the commit before tracing existed), so "off" can be compared with no hooks at all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.matrix_client import burst, client_for
from bench.matrix_targets import Target, standin
from bench.standin import MODEL
from tests.integration.conftest import service_env
from tests.integration.otlp_receiver import OtlpReceiver, running_receiver
from tests.integration.service import Service

STREAMS = 4
"""Turns run at once within a round (on sessions of their own)."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--turns", type=int, default=20, help="turns per service per round")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per reply")
    parser.add_argument("--compare", help="also run oss-agent from this source tree")
    return parser.parse_args()


@contextlib.contextmanager
def agent(name: str, upstream: str, workdir: Path, **env: str) -> Iterator[Target]:
    folder = workdir / name.replace(" ", "-").replace("@", "")
    folder.mkdir()
    settings = service_env(upstream, folder, LLM_MODEL=MODEL, LLM_TIMEOUT="120", **env)
    service = Service(settings, folder).start(timeout=300)
    try:
        assert service.process is not None
        yield Target(name, f"{service.url}/v1/chat/completions", service.process.pid)
    finally:
        service.stop()


async def one_round(target: Target, turns: int, tokens: int) -> tuple[float, int]:
    """CPU seconds of the service for `turns` turns, and the tokens they streamed."""
    before = target.cpu_seconds()
    delivered = 0
    async with client_for(STREAMS) as client:
        for _ in range(turns // STREAMS):
            done = await burst(target, client, STREAMS, tokens)
            delivered += done.tokens
    return target.cpu_seconds() - before, delivered


async def measure(columns: list[Target], args: argparse.Namespace) -> dict[str, list[tuple]]:
    samples: dict[str, list[tuple]] = {c.name: [] for c in columns}
    turns = max(STREAMS, args.turns - args.turns % STREAMS)
    for column in columns:  # warm up: imports, first connections, the database file
        await one_round(column, STREAMS, args.tokens)
    for round_number in range(args.rounds):
        order = random.sample(columns, len(columns))
        for column in order:
            cpu, tokens = await one_round(column, turns, args.tokens)
            samples[column.name].append((cpu / turns, cpu / max(tokens, 1)))
        print(f"round {round_number + 1}/{args.rounds}: {' '.join(c.name for c in order)}")
    return samples


def report(samples: dict[str, list[tuple]], receiver: OtlpReceiver) -> None:
    per_turn = {name: statistics.median(s[0] for s in rows) for name, rows in samples.items()}
    per_token = {name: statistics.median(s[1] for s in rows) for name, rows in samples.items()}
    print(f"\n{'tracing':<14}{'CPU ms/turn':>14}{'CPU µs/token':>15}{'ratio to off':>14}")
    for name in samples:
        ratio = per_turn[name] / per_turn["off"]
        print(
            f"{name:<14}{per_turn[name] * 1e3:>14.2f}{per_token[name] * 1e6:>15.1f}{ratio:>13.2f}x"
        )
    print(f"\nspans received: {len(receiver.spans)} in {receiver.posts} OTLP exports")


def main() -> None:
    args = parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tracing-cost-") as tmp,
        running_receiver() as (endpoint, receiver),
        standin(args.tokens, 1_000_000) as upstream,
    ):
        base = upstream.url.removesuffix("/chat/completions")
        workdir = Path(tmp)
        traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}
        capture = {**traced, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
        with contextlib.ExitStack() as stack:
            columns = [
                stack.enter_context(agent("off", base, workdir)),
                stack.enter_context(agent("on", base, workdir, **traced)),
                stack.enter_context(agent("on+content", base, workdir, **capture)),
            ]
            if args.compare:
                code = Path(args.compare).resolve()
                before = agent(f"@{code.name}", base, workdir, PYTHONPATH=str(code))
                columns.append(stack.enter_context(before))
            samples = asyncio.run(measure(columns, args))
        report(samples, receiver)


if __name__ == "__main__":
    main()
