"""Pytest fixtures that run the simulator as a real server process, plus a process helper.

Import them into a conftest: `from tests.upstream_sim.fixtures import sim, sim_server`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.upstream_sim.control import SimControl

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningProcess:
    """A started child process whose stdout and stderr go to one log file."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    final_output: str | None = None

    def output(self) -> str:
        """Everything the process printed so far (kept after it has been stopped)."""
        if self.final_output is not None:
            return self.final_output
        return self.log_path.read_text(errors="replace")


@dataclass
class SimServer:
    """A running simulator: point clients at `base_url`, script it through `control`."""

    base_url: str
    control: SimControl
    process: RunningProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def start_process(
    cmd: Sequence[str],
    env: Mapping[str, str] | None,
    ready_url: str,
    timeout: float = 30.0,
    cwd: Path = REPO_ROOT,
) -> Iterator[RunningProcess]:
    """Run `cmd` (with `env` added to os.environ) until `ready_url` answers 200; stop it after.

    Raises RuntimeError carrying the process's output if it exits or is not ready in time.
    """
    with tempfile.TemporaryDirectory(prefix="proc-") as tmp:
        log_path = Path(tmp) / "output.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                list(cmd), cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=log
            )
        process = RunningProcess(popen, log_path)
        try:
            _wait_until_ready(process, ready_url, timeout)
            yield process
        finally:
            _stop(popen)
            process.final_output = process.output()


def _wait_until_ready(process: RunningProcess, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.popen.returncode} before {url} was ready:\n"
                f"{process.output()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s; output so far:\n{process.output()}")


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is not None:
        return
    popen.terminate()
    try:
        popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout=5)


@contextlib.contextmanager
def running_simulator(timeout: float = 30) -> Iterator[SimServer]:
    """A simulator process (vllm flavor) on a free loopback port, stopped on exit."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tests.upstream_sim", "--host", "127.0.0.1", "--port", str(port)]
    with start_process(cmd, None, f"{root}/health", timeout=timeout) as process:
        control = SimControl(root)
        try:
            yield SimServer(base_url=f"{root}/v1", control=control, process=process)
        finally:
            control.close()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """One simulator process for the whole test session."""
    with running_simulator() as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    """The session simulator, reset (queue, rules, requests, flavor) for this test."""
    sim_server.control.reset()
    return sim_server
