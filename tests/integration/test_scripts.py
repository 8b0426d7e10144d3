"""The README's own commands: `./scripts/test.sh -k <expr>` and `./scripts/serve.sh`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.integration.service import REPO, START_TIMEOUT
from tests.upstream_sim.fixtures import free_port


def test_test_script_passes_its_arguments_to_pytest() -> None:
    # INSTALL_COMPOSE=0: the compose CLI comes from PyPI, and tests stay on loopback.
    env = {**os.environ, "INSTALL_COMPOSE": "0"}
    result = subprocess.run(
        ["./scripts/test.sh", "-k", "mask_url_password", "-p", "no:randomly", "tests/unit"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unexpected argument" not in result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and " deselected" in summary, result.stdout


def serve_env(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "API_PORT": str(port),
        "LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",  # down: the service still starts
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sessions.db'}",
        "TOOLS_WORKSPACE": str(tmp_path / "workspace"),
        "USE_MCP_TOOLS": "false",
    }


def start_serve_script(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            ["./scripts/serve.sh", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def test_serve_script_starts_the_service(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_serve_script(serve_env(tmp_path, port), log)
    try:
        health = _wait_for_health(process, port, log)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=30)
        assert ready.status_code == 503 and not ready.json()["upstream"]["ok"]
    finally:
        os.killpg(process.pid, signal.SIGINT)  # the script's own process group
        process.wait(30)
    assert "oss-agent settings" in log.read_text()


def test_kill_on_the_serve_script_pid_stops_the_service(tmp_path: Path) -> None:
    """`./scripts/serve.sh --demo`, then `kill PID` (SIGTERM to the script's own PID only,
    not its group) frees the port and the SQLite lock: a second start on the same port and
    database works."""
    port = free_port()
    env, log = serve_env(tmp_path, port), tmp_path / "serve.log"
    first = start_serve_script(env, log, "--demo")
    try:
        _wait_for_health(first, port, log)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=30).json()
        assert "demo model" in ready["demo"]
        os.kill(first.pid, signal.SIGTERM)
        # uvicorn shuts down, then re-raises the signal: 128 + SIGTERM from uv
        assert first.wait(60) == 128 + signal.SIGTERM, log.read_text(errors="replace")
    finally:
        _kill_group(first)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # nothing of the first service holds the port
    second = start_serve_script(env, log)
    try:
        assert _wait_for_health(second, port, log).json() == {"status": "ok"}
    finally:
        _kill_group(second)


def _kill_group(process: subprocess.Popen) -> None:
    """Whatever is left of the script's process group (nothing, when the test passed)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def _wait_for_health(process: subprocess.Popen, port: int, log: Path) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"serve.sh did not answer /health:\n{log.read_text(errors='replace')}")
