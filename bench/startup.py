"""Start-up time: `oss-agent serve` until /health answers 200, and `oss-agent tools`.

Run: `uv run python bench/startup.py [--rounds N]`. Each round runs, interleaved:

- `serve`: `oss-agent serve` (built-in tools, SQLite in a scratch folder, no MCP servers,
  an upstream that is down) from process start until `GET /health` answers 200;
- `serve baseline`: a bare FastAPI app under uvicorn, same measurement: the floor any
  FastAPI service pays;
- `tools`: `oss-agent tools --json` to completion;
- `tools baseline`: `python -c pass`, the interpreter's own start.

Prints the median seconds of each and the ratio to its baseline. Targets on a quiet
machine: serve under 3 s, tools under 2 s.

`--compiled` measures the processes with compiled bytecode, as the Docker image runs them
(`UV_COMPILE_BYTECODE=1`): a venv synced without it and run with `PYTHONDONTWRITEBYTECODE=1`
compiles every imported module from source on every start. The bytecode goes to a scratch
`PYTHONPYCACHEPREFIX`, written by one unmeasured start of each command.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
BARE_APP = (
    "from fastapi import FastAPI\n"
    "app = FastAPI()\n"
    "@app.get('/health')\n"
    "def health():\n"
    "    return {'status': 'ok'}\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_env(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(port),
        "LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",  # nothing listens there
        "DATABASE_URL": f"sqlite:///{workdir / 'sessions.db'}",
        "TOOLS_WORKSPACE": str(workdir / "workspace"),
        "USE_MCP_TOOLS": "false",
        "LOG_LEVEL": "WARNING",
    }


def until_healthy(cmd: list[str], workdir: Path, port: int) -> float:
    """Seconds from starting `cmd` until http://127.0.0.1:port/health answers 200."""
    started = time.perf_counter()
    process = subprocess.Popen(
        cmd,
        cwd=workdir,
        env=scratch_env(workdir, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.02)
        raise RuntimeError(f"{cmd} exited with {process.returncode}")
    finally:
        process.terminate()
        process.wait()


def to_completion(cmd: list[str], workdir: Path) -> float:
    """Seconds `cmd` takes to run to its end (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(
        cmd, cwd=workdir, env=scratch_env(workdir, free_port()), check=True, capture_output=True
    )
    return time.perf_counter() - started


def measure(rounds: int, warm_up: bool) -> dict[str, list[float]]:
    """Every command once per round, interleaved so load changes hit all alike; with
    `warm_up`, each runs once unmeasured first."""
    times: dict[str, list[float]] = {
        "serve": [],
        "serve baseline": [],
        "tools": [],
        "tools baseline": [],
    }
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "bare_app.py").write_text(BARE_APP)
        bare = [str(BIN / "uvicorn"), "bare_app:app", "--log-level", "warning"]
        serve = [str(BIN / "oss-agent"), "serve"]
        tools = [str(BIN / "oss-agent"), "tools", "--json"]
        if warm_up:
            until_healthy(serve, workdir, free_port())
            port = free_port()
            until_healthy([*bare, "--port", str(port)], workdir, port)
            to_completion(tools, workdir)
        for _ in range(rounds):
            port = free_port()
            times["serve"].append(until_healthy(serve, workdir, port))
            port = free_port()
            bare_start = until_healthy([*bare, "--port", str(port)], workdir, port)
            times["serve baseline"].append(bare_start)
            times["tools"].append(to_completion(tools, workdir))
            times["tools baseline"].append(to_completion([sys.executable, "-c", "pass"], workdir))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compiled", action="store_true", help="with bytecode, as in Docker")
    args = parser.parse_args()
    rounds = args.rounds
    with tempfile.TemporaryDirectory(prefix="startup-pycache-") as pycache:
        if args.compiled:  # the children inherit this environment (scratch_env)
            os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
            os.environ["PYTHONPYCACHEPREFIX"] = pycache
        times = measure(rounds, warm_up=args.compiled)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"median of {rounds} rounds (seconds), ratio to the baseline of the same run:")
    for name, baseline in (("serve", "serve baseline"), ("tools", "tools baseline")):
        ratio = median[name] / median[baseline]
        print(
            f"  {name:6} {median[name]:6.2f} s   {baseline} {median[baseline]:5.2f} s   "
            f"ratio {ratio:5.1f}x   (all: {', '.join(f'{t:.2f}' for t in times[name])})"
        )


if __name__ == "__main__":
    main()
