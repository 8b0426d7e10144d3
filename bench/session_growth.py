"""Session growth: turn latency and storage at 10, 100 and 1,000 stored messages.

Run: `uv run python -m bench.session_growth [--rounds 7] [--stores sqlite,postgres]
[--compare DIR]`. Starts the upstream simulator (it answers at once) and, per store, one
oss-agent process (Postgres: a scratch database on TEST_POSTGRES_URL, dropped after), and
with `--compare` a second one running the source tree DIR (a before/after in one run).

Latency: each round makes, for every size in an order shuffled per round and for every
process, a session holding that many messages (one request carrying the history, not
timed), then times one more non-streamed turn on it, and times the same model call made
straight to the simulator ("direct": the model server's own cost of a longer prompt, which
no gateway can take away). Printed: medians, their ratio to 10 messages, and what
oss-agent adds (turn minus direct) with its ratio. Storage: one session grown turn by turn
(two messages a turn); the store's bytes in use at 10, 100 and 1,000 messages (SQLite:
page_count - freelist_count; Postgres: pg_total_relation_size of the session tables after
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

from bench.context_latency import history, timed_turn
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable
from tests.upstream_sim.fixtures import running_simulator

SIZES = (10, 100, 1000)
DIRECT = "direct"
WINDOW = "1000000"  # no trimming: every stored message goes to the model
PG_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "session_messages")


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


def direct_call(sim: httpx.Client, size: int) -> float:
    """The model call of a turn on a `size`-message session, made straight to the simulator."""
    messages = [*history(size), {"role": "assistant", "content": "ok"}]
    body = {"model": "m", "messages": [*messages, {"role": "user", "content": "and one more"}]}
    started = time.perf_counter()
    sim.post("/chat/completions", json=body).raise_for_status()
    return time.perf_counter() - started


def latency(
    clients: dict[str, httpx.Client], sim: httpx.Client, rounds: int
) -> dict[str, dict[int, list[float]]]:
    """Per process (and "direct"), per size: the turn times of every round."""
    times = {name: {size: [] for size in SIZES} for name in [*clients, DIRECT]}
    order = list(SIZES)
    for size in order:  # warm-up
        for client in clients.values():
            timed_turn(client, size)
    for _ in range(rounds):
        random.shuffle(order)
        for size in order:
            for name, client in clients.items():
                times[name][size].append(timed_turn(client, size))
            times[DIRECT][size].append(direct_call(sim, size))
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


def run(name: str, sim: str, rounds: int, compare: Path | None) -> None:
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings, size_of = stack.enter_context(store(name, tmp))
        trees = {"oss-agent": None} | ({f"@{compare.name}": compare} if compare else {})
        clients = {}
        for tree, code in trees.items():
            workdir = tmp / tree
            workdir.mkdir()
            env = service_env(sim, workdir, CONTEXT_WINDOW=WINDOW, LLM_TIMEOUT="120", **settings)
            if code is not None:
                env["PYTHONPATH"] = str(code.resolve())
            svc = Service(env, workdir).start(timeout=180)
            stack.callback(svc.stop)
            clients[tree] = stack.enter_context(httpx.Client(base_url=svc.url, timeout=300))
        started = time.perf_counter()
        grown = storage(clients["oss-agent"], size_of)
        growing = time.perf_counter() - started
        upstream = stack.enter_context(httpx.Client(base_url=sim, timeout=300))
        times = latency(clients, upstream, rounds)
    print(f"\n{name}: one turn, {rounds} interleaved rounds (median), and storage (oss-agent)")
    print(f"{'messages':>9} {'bytes':>12} {'bytes/msg':>10}")
    for size in SIZES:
        print(f"{size:>9} {grown[size]:12,d} {grown[size] // size:10,d}")
    print(f"growing one session to {SIZES[-1]} messages turn by turn took {growing:.1f} s")
    direct = {size: statistics.median(times[DIRECT][size]) for size in SIZES}
    print(f"{'':>12} {'messages':>9} {'turn ms':>9} {'ratio':>6} {'added ms':>9} {'ratio':>6}")
    for tree in [*clients, DIRECT]:
        turn = {size: statistics.median(times[tree][size]) for size in SIZES}
        added = {size: turn[size] - direct[size] for size in SIZES}
        for size in SIZES:
            extra = (
                f"{added[size] * 1000:9.1f} {added[size] / added[SIZES[0]]:6.2f}"
                if tree != DIRECT
                else ""
            )
            print(
                f"{tree:>12} {size:>9} {turn[size] * 1000:9.1f}"
                f" {turn[size] / turn[SIZES[0]]:6.2f} {extra}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--compare", type=Path, help="also run oss-agent from this source tree")
    args = parser.parse_args()
    with running_simulator() as sim:
        for name in args.stores.split(","):
            if name == "postgres" and (reason := unreachable(POSTGRES_URL)):
                print(f"\npostgres: skipped ({reason})")
                continue
            run(name, sim.base_url, args.rounds, args.compare)


if __name__ == "__main__":
    main()
