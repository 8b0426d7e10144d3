"""Build and run the real vLLM engine (scripts/engine.sh) for the `engine` test tier."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.upstream_sim.fixtures import free_port

REPO = Path(__file__).resolve().parents[2]
ENGINE_SH = REPO / "scripts" / "engine.sh"
# engine.sh build: this machine cannot install the engine (no CPU build of torch on pip's
# find-links; no python3 with pip to look for one)
CANNOT_INSTALL = (3, 4)
READY_TIMEOUT = 600  # vLLM starts in 1-1.5 min alone; generous for a busy machine


def build_verdict(returncode: int, stderr: str, required: bool) -> tuple[str, str] | None:
    """None when the engine is built, else ("skip" or "fail", the reason): a skip only where
    the machine cannot install it and ENGINE_REQUIRED is off; the reason is the script's own
    "engine: ..." line (the cause and what to do), not whatever it printed before."""
    if returncode == 0:
        return None
    said = [line for line in stderr.splitlines() if line.startswith("engine: ")]
    if returncode in CANNOT_INSTALL and said and not required:
        return "skip", said[-1]
    return "fail", f"scripts/engine.sh build exited with {returncode}:\n{stderr[-3000:]}"


def build_engine() -> None:
    """Build (or find cached) the engine; skip where it cannot be installed.

    Under ENGINE_REQUIRED=1 (set by .ci/run) a missing engine fails instead of skipping."""
    result = subprocess.run(["bash", str(ENGINE_SH), "build"], capture_output=True, text=True)
    verdict = build_verdict(
        result.returncode, result.stderr, os.environ.get("ENGINE_REQUIRED") == "1"
    )
    if verdict is None:
        return
    outcome, reason = verdict
    if outcome == "skip":
        pytest.skip(reason)
    pytest.fail(reason)


class Engine:
    """One vLLM OpenAI server on loopback, with or without its gpt-oss tool-call parser."""

    def __init__(self, log_dir: Path, *, tool_parser: bool = True) -> None:
        self.port = free_port()
        self.log = log_dir / f"vllm-{self.port}.log"
        args = ["bash", str(ENGINE_SH), "serve", str(self.port)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                args if tool_parser else [*args, "plain"], stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self) -> Engine:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM exited early:\n{self.output()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).is_success:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"vLLM not ready in {READY_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]
