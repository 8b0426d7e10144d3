"""Session growth: turn latency and storage at 10, 100 and 1,000 stored messages.

Run: `uv run python -m bench.session_growth [--rounds 7] [--stores sqlite,postgres]`.
Starts the upstream simulator (it answers at once) and, per store, one oss-agent process
(Postgres: a scratch database on TEST_POSTGRES_URL, dropped after). Latency: each round
makes, for every size in an order shuffled per round, a session holding that many messages
(one request carrying the history, not timed), then times one more non-streamed turn on it;
medians and their ratio to 10 messages from the same run. Storage: one session grown turn
by turn (two messages a turn); the store's bytes in use at 10, 100 and 1,000 messages (SQLite:
page_count - freelist_count; Postgres: pg_total_relation_size of the checkpoint tables after
VACUUM FULL) over the number of messages.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg

from bench.context_latency import timed_turn
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable
from tests.upstream_sim.fixtures import running_simulator

SIZES = (10, 100, 1000)
WINDOW = "1000000"  # no trimming: every stored message goes to the model
PG_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def sqlite_bytes(database: Path) -> Callable[[], int]:
    def size() -> int:
        with sqlite3.connect(database) as conn:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * page_size

    return size


def postgres_bytes(url: str) -> Callable[[], int]:
    def size() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"VACUUM FULL {', '.join(PG_TABLES)}")
            query = " + ".join(f"pg_total_relation_size('{t}')" for t in PG_TABLES)
            row = conn.execute(f"SELECT {query}").fetchone()
        return int(row[0]) if row else 0

    return size


def latency(client: httpx.Client, rounds: int) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {size: [] for size in SIZES}
    order = list(SIZES)
    for size in order:  # warm-up
        timed_turn(client, size)
    for _ in range(rounds):
        random.shuffle(order)
        for size in order:
            times[size].append(timed_turn(client, size))
    return times


def storage(client: httpx.Client, size_of: Callable[[], int]) -> dict[int, int]:
    """Bytes the one growing session takes at each size."""
    base = size_of()
    grown: dict[int, int] = {}
    session: dict[str, str] = {}
    for count in range(2, SIZES[-1] + 1, 2):
        body = {"model": "m", "messages": [{"role": "user", "content": f"message {count}"}]}
        reply = client.post("/v1/chat/completions", json=body, headers=session)
        reply.raise_for_status()
        session = {"X-Session-ID": reply.headers["x-session-id"]}
        if count in SIZES:
            grown[count] = size_of() - base
    return grown


@contextlib.contextmanager
def store(name: str, workdir: Path) -> Iterator[tuple[dict[str, str], Callable[[], int]]]:
    """Settings naming the store, and how to read the bytes it uses."""
    if name == "sqlite":
        database = workdir / "sessions.db"
        yield {"DATABASE_URL": f"sqlite:///{database}"}, sqlite_bytes(database)
        return
    with scratch_database(POSTGRES_URL) as url:
        yield {"DATABASE_URL": url}, postgres_bytes(url)


def run(name: str, sim: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, store(name, Path(tmp)) as (settings, size_of):
        env = service_env(sim, Path(tmp), CONTEXT_WINDOW=WINDOW, LLM_TIMEOUT="120", **settings)
        svc = Service(env, Path(tmp)).start(timeout=180)
        try:
            with httpx.Client(base_url=svc.url, timeout=300) as client:
                started = time.perf_counter()
                grown = storage(client, size_of)
                growing = time.perf_counter() - started
                times = latency(client, rounds)
        finally:
            svc.stop()
    base = statistics.median(times[SIZES[0]])
    print(f"\n{name}: one turn, {rounds} interleaved rounds (median), and storage")
    print(f"{'messages':>9} {'turn ms':>9} {'ratio':>6} {'bytes':>12} {'bytes/msg':>10}")
    for size in SIZES:
        median = statistics.median(times[size])
        used = grown[size]
        print(
            f"{size:>9} {median * 1000:9.1f} {median / base:6.2f} {used:12,d} {used // size:10,d}"
        )
    print(f"growing one session to {SIZES[-1]} messages turn by turn took {growing:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    with running_simulator() as sim:
        for name in args.stores.split(","):
            if name == "postgres" and (reason := unreachable(POSTGRES_URL)):
                print(f"\npostgres: skipped ({reason})")
                continue
            run(name, sim.base_url, args.rounds)


if __name__ == "__main__":
    main()
