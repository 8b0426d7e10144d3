"""Start the real service (`oss-agent serve`, uvicorn) as a subprocess for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx
import openai

from tests.upstream_sim.fixtures import free_port

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
OSS_AGENT = str(Path(sys.executable).with_name("oss-agent"))
# A loaded 2-core machine has needed 35 s for a start; a failed start shows the output.
START_TIMEOUT = float(os.environ.get("TEST_SERVICE_START_TIMEOUT", "180"))


def eventually(value: Callable[[], T | None], what: str, within: float = 15.0) -> T:
    """The first value `value()` gives that is not None (or False), polled until `within`
    seconds have passed: for what the service does after answering (a turn going on
    without its client, another process catching up)."""
    deadline = time.monotonic() + within
    while (found := value()) is None or found is False:
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        time.sleep(0.05)
    return found


class Service:
    """One `oss-agent serve` process; restartable with the same settings."""

    def __init__(self, env: dict[str, str], cwd: Path, args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.args = list(args)
        """Options after `oss-agent serve` (e.g. `--workers 2`)."""
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",  # a start that fails shows everything printed so far
            **env,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.port),
        }
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self.log = cwd / f"service-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs) -> openai.OpenAI:
        """An OpenAI SDK client for this service (no retries: tests see every error)."""
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 30)
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key="test", **kwargs)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def start(self, timeout: float = START_TIMEOUT) -> Service:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [OSS_AGENT, "serve", *self.args],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started = time.monotonic()
        while time.monotonic() < started + timeout:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"service exited with {code} before /health:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"service on port {self.port} not ready in {timeout:.0f} s "
            f"(TEST_SERVICE_START_TIMEOUT); its output:\n{self.output() or '(none)'}"
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> Service:
        self.stop()
        return self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
