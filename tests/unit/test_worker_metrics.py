"""Metrics with several workers (agent/metrics.py): a dead worker's live gauges are dropped,
what a live one counts and every worker's counters stay in the sum."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.metrics import MULTIPROCESS_DIR, forget_dead_workers

REPO = Path(__file__).resolve().parents[2]
A_WORKER = """
from agent.metrics import TURNS, TURNS_RUNNING
TURNS.labels("ok").inc(3)
TURNS_RUNNING.inc()  # it dies mid-turn
"""


def _worker_exits(folder: Path) -> None:
    env = {MULTIPROCESS_DIR: str(folder), "PATH": ""}
    subprocess.run([sys.executable, "-c", A_WORKER], env=env, check=True, cwd=REPO)


def _sum(folder: Path) -> str:
    code = "from agent.metrics import exposition; print(exposition().decode())"
    env = {MULTIPROCESS_DIR: str(folder), "PATH": ""}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, cwd=REPO
    ).stdout


def test_a_dead_workers_running_turn_is_forgotten_its_counts_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _worker_exits(tmp_path)
    before = _sum(tmp_path)
    assert "oss_agent_turns_running 1.0" in before
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    forget_dead_workers()
    after = _sum(tmp_path)
    assert "oss_agent_turns_running 1.0" not in after
    assert 'oss_agent_turns_total{outcome="ok"} 3.0' in after
