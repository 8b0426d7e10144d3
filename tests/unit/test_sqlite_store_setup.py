"""Processes that share one SQLite file set up the store one at a time (graph/store/sqlite.py
`open_sqlite_store`, `FileSessionLocks.setting_up`): started together on a fresh file, each
starts. Without the setup lock, 6 to 10 of these 100 starts failed in each of three runs,
with "database is locked" (the WAL switch) or "duplicate column name" (a column added twice)."""

from __future__ import annotations

import asyncio
import multiprocessing
import traceback
from pathlib import Path

from graph.store import open_store

PROCESSES = 4
ROUNDS = 25


def open_fresh_stores(directory: str, barrier, failures) -> None:
    """Open the store of each round's fresh file together with the other processes."""

    async def open_once(url: str) -> None:
        async with open_store(url, 1.0, 2) as store:
            assert await store.owners.owner("no-session") == ""

    for round_number in range(ROUNDS):
        barrier.wait()
        try:
            asyncio.run(open_once(f"sqlite:///{directory}/round-{round_number}.db"))
        except Exception:
            failures.put(traceback.format_exc(limit=3))


def test_processes_starting_together_on_a_fresh_file_all_set_up_the_store(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    failures = context.Queue()
    processes = [
        context.Process(target=open_fresh_stores, args=(str(tmp_path), barrier, failures))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    failed = [failures.get() for _ in range(failures.qsize())]
    assert failed == []
    assert sorted(path.name for path in tmp_path.glob("round-*.db")) == sorted(
        f"round-{n}.db" for n in range(ROUNDS)
    )
