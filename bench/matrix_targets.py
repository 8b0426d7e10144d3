"""The servers the streaming matrix measures: the stand-in itself (direct), oss-agent and the
LiteLLM proxy, each a real process started here, with its CPU time read from /proc."""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.standin import MODEL
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import free_port, start_process

HERE = Path(__file__).resolve().parent
LITELLM = HERE / ".litellm-venv" / "bin" / "litellm"
LITELLM_CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: hosted_vllm/{model}
      api_base: {upstream}
      api_key: none
"""
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the cost map at start
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
}


@dataclass
class Target:
    """One column: where its chat endpoint is, and which process serves it (None: direct)."""

    name: str
    url: str
    pid: int | None
    headers: dict[str, str] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and its worker processes so far."""
        if self.pid is None:
            return 0.0
        process = psutil.Process(self.pid)
        total = 0.0
        for each in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = each.cpu_times()
                total += times.user + times.system
        return total


@contextlib.contextmanager
def standin(tokens: int, tokens_per_second: float) -> Iterator[Target]:
    port = free_port()
    cmd = [sys.executable, str(HERE / "standin.py"), "--port", str(port)]
    cmd += ["--tokens", str(tokens), "--tokens-per-second", str(tokens_per_second)]
    root = f"http://127.0.0.1:{port}"
    with start_process(cmd, None, f"{root}/health") as running:
        yield Target("direct", f"{root}/v1/chat/completions", running.popen.pid)


@contextlib.contextmanager
def oss_agent(
    name: str,
    upstream: str,
    workdir: Path,
    database: str | None,
    workers: int = 1,
    code: Path | None = None,
) -> Iterator[Target]:
    """oss-agent in front of `upstream`, its sessions in `database` (None: the default,
    SQLite in a file of its own); with `code`, that tree's packages are imported instead of
    this checkout's (an earlier commit, for a before/after in one run)."""
    folder = workdir / name.replace(" ", "-")
    folder.mkdir()
    wide = {"MAX_CONCURRENT_TURNS": "1000", "MAX_QUEUED_TURNS": "1000", "DB_POOL_SIZE": "20"}
    if code is not None:
        wide["PYTHONPATH"] = str(code)
    env = service_env(upstream, folder, LLM_MODEL=MODEL, LLM_TIMEOUT="120")
    if database is not None:
        env["DATABASE_URL"] = database
    options = ["--workers", str(workers)] if workers != 1 else []
    service = Service({**env, **wide}, folder, args=options)
    service.start(timeout=300)
    try:
        assert service.process is not None
        yield Target(name, f"{service.url}/v1/chat/completions", service.process.pid)
    finally:
        service.stop()


def litellm_installed() -> bool:
    return LITELLM.exists()


@contextlib.contextmanager
def litellm(upstream: str, workdir: Path) -> Iterator[Target]:
    config = workdir / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(model=MODEL, upstream=upstream))
    key = f"sk-{secrets.token_hex(16)}"  # the proxy refuses to start without a master key
    port = free_port()
    cmd = [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    root = f"http://127.0.0.1:{port}"
    env = {**LITELLM_ENV, "LITELLM_MASTER_KEY": key}
    with start_process(cmd, env, f"{root}/health/liveliness", timeout=300) as running:
        url = f"{root}/v1/chat/completions"
        yield Target("LiteLLM proxy", url, running.popen.pid, {"Authorization": f"Bearer {key}"})
