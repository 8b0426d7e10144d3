"""bench/soak.py runs: a quick soak (20 sessions, 5 s) against the simulator has no errors
and reports the service's memory at the start and the end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.service import REPO


@pytest.mark.timeout(300)
def test_quick_soak_has_no_errors_and_reports_memory() -> None:
    result = subprocess.run(
        [sys.executable, "bench/soak.py", "--quick", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["sessions"] == 20
    assert report["turns"] > 20  # each session finished turns, and every one was checked
    assert report["errors"] == 0, report["error_samples"]
    assert report["rss_start_kib"] > 0 and report["rss_end_kib"] > 0
