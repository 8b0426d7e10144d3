"""The streaming matrix of issue 13: oss-agent and the LiteLLM proxy against the model server.

Run: `uv run python bench/matrix.py [--quick] [--postgres URL] [--also startup,...]`.
Starts a stand-in model server (bench/standin.py, vLLM's SSE wire, paced tokens), oss-agent
in front of it (on the user's default, SQLite in a temp file, unless `--database`),
optionally oss-agent with several worker processes (`--workers 2`; on Postgres:
`--postgres`), oss-agent from another source tree (`--compare`, a before/after in one run),
and the LiteLLM proxy when `bench/litellm_venv.sh` has installed it.
Every measurement is taken for each column in turn, in an order shuffled per round, and
reported as medians:

* added time to first token: one stream, its first content delta, minus direct's;
* tokens in the first content delta the client gets;
* for each answer length of `--lengths`: server CPU per streamed token (user + system from
  /proc, over the bursts) and the throughput of a burst of concurrent streams, as a
  percentage of direct's;
* server CPU per request: a burst of one-token answers, its CPU over its requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import httpx

from bench import matrix_targets as targets
from bench.matrix_client import burst, client_for, first_token
from bench.matrix_report import machine_lines, table
from bench.matrix_targets import Target
from tests.integration.test_postgres import scratch_database

Samples = dict[str, dict[str, list[float]]]
OTHER_BENCHES = {"session_growth": ["--rounds", "5"], "startup": ["--rounds", "3"]}
COMPARED = {"session_growth"}
"""The other benches that run `--compare`'s tree too."""
"""Other bench modules `--also` can run after the matrix, with their arguments."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts (CI)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=4, help="first-token streams per round")
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument(
        "--lengths", default="128,1000", help="answer lengths of the bursts, in tokens"
    )
    parser.add_argument("--tokens-per-second", type=float, default=100.0)
    parser.add_argument(
        "--database",
        help="oss-agent's DATABASE_URL (default: SQLite in a temp file, as `serve` uses)",
    )
    parser.add_argument(
        "--workers", default="", help="add oss-agent columns with these worker counts: 2,3"
    )
    parser.add_argument("--postgres", help="add oss-agent columns on this Postgres server")
    parser.add_argument("--postgres-workers", default="2", help="their worker counts: 1,2")
    parser.add_argument(
        "--compare", help="add oss-agent run from this source tree (e.g. `git archive` of a commit)"
    )
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument(
        "--also",
        default=None,
        help=f"then run these (default: {','.join(OTHER_BENCHES)}; none with --quick)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.samples, args.streams, args.lengths = 1, 2, 4, "20"
    args.lengths = [int(n) for n in args.lengths.split(",")]
    return args


async def measure(columns: list[Target], args: argparse.Namespace) -> Samples:
    samples: Samples = defaultdict(lambda: defaultdict(list))
    first_tokens = min(10, *args.lengths)
    async with client_for(args.streams) as client:
        for column in columns:  # warm-up: imports, connections, first sessions
            await first_token(column, client, first_tokens)
            await burst(column, client, min(4, args.streams), first_tokens)
        order = list(columns)
        for _ in range(args.rounds):
            for _ in range(args.samples):
                random.shuffle(order)
                for column in order:
                    found = await first_token(column, client, first_tokens)
                    samples[column.name]["ttft"].append(found.seconds)
                    samples[column.name]["first_tokens"].append(found.tokens)
            for tokens in [*args.lengths, 1]:
                random.shuffle(order)
                for column in order:
                    await _measure_burst(column, client, args.streams, tokens, samples)
    return samples


async def _measure_burst(
    column: Target, client: httpx.AsyncClient, streams: int, tokens: int, samples: Samples
) -> None:
    """A burst of `streams` answers of `tokens` tokens: CPU per token and throughput; for
    one-token answers, CPU per request."""
    cpu = column.cpu_seconds()
    done = await burst(column, client, streams, tokens)
    spent = column.cpu_seconds() - cpu
    figures = samples[column.name]
    if tokens == 1:
        figures["cpu_per_request"].append(spent / streams)
        return
    figures[f"cpu_per_token@{tokens}"].append(spent / done.tokens)
    figures[f"tokens_per_second@{tokens}"].append(done.tokens_per_second)
    figures[f"failed_streams@{tokens}"].append(done.failed)


def medians(samples: Samples, columns: list[Target]) -> dict[str, dict[str, float]]:
    """Per column (in the order given), the median of each row."""
    return {
        column.name: {
            row: statistics.median(values) for row, values in samples[column.name].items()
        }
        for column in columns
    }


def run_matrix(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="matrix-")))
        direct = stack.enter_context(targets.standin(max(args.lengths), args.tokens_per_second))
        upstream = direct.url.removesuffix("/chat/completions")
        columns = [direct]
        columns.append(
            stack.enter_context(targets.oss_agent("oss-agent", upstream, workdir, args.database))
        )
        if args.compare:
            code = Path(args.compare).resolve()
            name = f"oss-agent @{code.name}"
            columns.append(
                stack.enter_context(
                    targets.oss_agent(name, upstream, workdir, args.database, code=code)
                )
            )
        for workers in (int(n) for n in filter(None, args.workers.split(","))):
            name = f"oss-agent x{workers}"
            columns.append(
                stack.enter_context(
                    targets.oss_agent(name, upstream, workdir, args.database, workers)
                )
            )
        if args.postgres:
            for workers in (int(n) for n in args.postgres_workers.split(",")):
                database = stack.enter_context(scratch_database(args.postgres))
                name = f"oss-agent PG x{workers}"
                columns.append(
                    stack.enter_context(
                        targets.oss_agent(name, upstream, workdir, database, workers)
                    )
                )
        if args.no_litellm:
            print("LiteLLM proxy: left out (--no-litellm)")
        elif targets.litellm_installed():
            columns.append(stack.enter_context(targets.litellm(upstream, workdir)))
        else:
            print("LiteLLM proxy: not installed (bench/litellm_venv.sh installs it); skipped")
        return medians(asyncio.run(measure(columns, args)), columns)


def run_others(names: str, compare: str | None) -> None:
    for name in filter(None, names.split(",")):
        script = Path(__file__).with_name(f"{name}.py")
        if name not in OTHER_BENCHES or not script.exists():
            print(f"\n{name}: no such bench module here; skipped")
            continue
        print(f"\n## {name}")
        extra = ["--compare", compare] if compare and name in COMPARED else []
        subprocess.run([sys.executable, str(script), *OTHER_BENCHES[name], *extra], check=True)


def main() -> None:
    args = parse_args()
    results = run_matrix(args)
    print("\n".join(machine_lines()))
    print(
        f"oss-agent's sessions: {args.database or 'SQLite (a temp file)'}; "
        f"{args.rounds} rounds, {args.samples} first-token streams per round and column, "
        f"bursts of {args.streams} streams at "
        f"{args.tokens_per_second:g} tok/s; medians\n"
    )
    print(table(results, args.streams, args.tokens_per_second, args.lengths))
    run_others(
        args.also if args.also is not None else "" if args.quick else ",".join(OTHER_BENCHES),
        args.compare,
    )


if __name__ == "__main__":
    main()
