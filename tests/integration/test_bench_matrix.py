"""The streaming benchmark keeps working: `bench/matrix.py --quick` runs the stand-in model
server and oss-agent for real and prints every row with figures (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.integration.service import REPO

ROWS = (
    "added time to first token, 1 stream at 100 tok/s",
    "tokens in the first content delta the client gets",
    "server CPU per streamed token, 20-token answers",
    "throughput, 4 streams × 20 tokens at 100 tok/s, % of direct",
    "server CPU per request (set-up, session, save; 1-token answers)",
)


@pytest.fixture(scope="module")
def printed() -> str:
    cmd = [sys.executable, "bench/matrix.py", "--quick", "--no-litellm"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def table_rows(printed: str) -> dict[str, list[str]]:
    lines = [line for line in printed.splitlines() if line.startswith("| ")]
    return {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    }


@pytest.mark.timeout(660)
def test_the_table_has_every_row_with_figures_for_each_column(printed: str) -> None:
    rows = table_rows(printed)
    assert rows["what"] == ["direct", "oss-agent"]
    ttft, first, cpu, share, request = (rows[label] for label in ROWS)
    assert re.fullmatch(r"\(\d+\.\d ms itself\)", ttft[0])
    assert re.fullmatch(r"[+-]\d+\.\d ms", ttft[1])
    assert all(float(cell) >= 1 for cell in first)  # every stream delivered content
    assert re.fullmatch(r"\(stand-in: \d+ µs\)", cpu[0])
    assert re.fullmatch(r"\d+ µs", cpu[1])
    assert re.fullmatch(r"100 % \(\d+ tok/s\)", share[0])
    assert float(share[1].removesuffix(" %")) > 0
    assert re.fullmatch(r"\(stand-in: \d+\.\d\d ms\)", request[0])
    assert float(request[1].removesuffix(" ms")) > 0


@pytest.mark.timeout(660)
def test_oss_agent_runs_on_the_users_default_sqlite(printed: str) -> None:
    assert "oss-agent's sessions: SQLite (a temp file)" in printed


@pytest.mark.timeout(660)
def test_the_run_names_the_machine_and_the_left_out_column(printed: str) -> None:
    assert re.search(r"^machine: .+, \d+ cores, \d+ GiB RAM$", printed, re.M)
    assert "LiteLLM proxy: left out (--no-litellm)" in printed
