"""Turns on one session across processes that share a SQLite file (graph/store/locks.py
`FileSessionLocks`): another process's hold makes a turn wait and then get the 409; other
sessions are free; a killed holder frees the session at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import AgentError
from api.cli import worker_count
from graph.store.locks import FileSessionLocks, lock_byte

HOLDER = """
import asyncio, sys
from graph.store.locks import FileSessionLocks

async def main():
    locks = FileSessionLocks(sys.argv[1], 5)
    async with locks.hold("session-1"):
        print("held", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.fixture
def holder(tmp_path: Path):
    """Another process holding session-1 in the lock file."""
    path = tmp_path / "sessions.db.lock"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield path, process
    process.kill()
    process.wait()


async def test_a_session_held_by_another_process_is_busy_and_others_are_free(holder) -> None:
    path, _ = holder
    locks = FileSessionLocks(path, 0.3)
    try:
        with pytest.raises(AgentError) as busy:
            async with locks.hold("session-1"):
                pass
        assert busy.value.code == "session_busy"
        async with locks.hold("session-2"):
            pass
    finally:
        locks.close()


async def test_a_killed_holder_frees_the_session(holder) -> None:
    path, process = holder
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    locks = FileSessionLocks(path, 5)
    try:
        async with locks.hold("session-1"):
            pass
    finally:
        locks.close()


def test_the_lock_byte_is_stable_and_differs_per_session() -> None:
    assert lock_byte("session-1") == lock_byte("session-1") < 2**56
    assert lock_byte("session-1") != lock_byte("session-2")


def test_workers_auto_is_one_per_usable_core() -> None:
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    assert worker_count("3") == 3
