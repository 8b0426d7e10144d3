"""Soak: many concurrent sessions for a while against the upstream simulator; every turn
must succeed, and the service's memory should stay flat.

Run: `uv run python bench/soak.py [--sessions 200] [--seconds 60] [--quick] [--json]`.
Starts the simulator and one `oss-agent serve` (SQLite sessions in a temporary folder),
both on 127.0.0.1 only. Each session sends turns one after another until the time is up,
streamed and not in turn, each only its new message (the service keeps the history), and
checks the answer is the simulator's echo of it; a turn is bounded by the HTTP timeout.
MAX_QUEUED_TURNS lets every session wait for a slot, so backpressure is not an error.

Prints the turns, the errors (by kind, with samples) and the service's resident memory
(VmRSS in /proc/<pid>/status) before the load, every few seconds, and after it.
`--quick` is 20 sessions for 5 s (the test suite runs it)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import running_simulator

TURN_TIMEOUT = 60.0
SAMPLE_EVERY = 5.0


@dataclass
class Tally:
    """What the sessions saw."""

    turns: int = 0
    errors: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 5:
            self.samples.append(f"{kind}: {detail[:300]}")


def rss_kib(pid: int) -> int:
    """The resident memory of process `pid` in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


async def one_turn(client: httpx.AsyncClient, session: str | None, text: str, stream: bool):
    """The session id and the answer's content of one turn."""
    headers = {"X-Session-ID": session} if session else {}
    body = {"messages": [{"role": "user", "content": text}], "stream": stream}
    if not stream:
        response = await client.post("/v1/chat/completions", json=body, headers=headers)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        return response.headers["x-session-id"], content
    async with client.stream(
        "POST", "/v1/chat/completions", json=body, headers=headers
    ) as response:
        response.raise_for_status()
        return response.headers["x-session-id"], await _streamed_content(response)


async def _streamed_content(response: httpx.Response) -> str:
    parts: list[str] = []
    async for line in response.aiter_lines():
        if not line.startswith("data: "):
            continue
        if line == "data: [DONE]":
            return "".join(parts)
        chunk = json.loads(line.removeprefix("data: "))
        if "error" in chunk:
            raise RuntimeError(f"in-band error: {chunk['error']}")
        for choice in chunk.get("choices", []):
            parts.append(choice.get("delta", {}).get("content") or "")
    raise RuntimeError("stream ended without [DONE]")


async def session_loop(client: httpx.AsyncClient, number: int, until: float, tally: Tally):
    session: str | None = None
    turn = 0
    while time.monotonic() < until:
        text = f"session {number} turn {turn}"
        stream = turn % 2 == 1
        try:
            session, content = await one_turn(client, session, text, stream)
        except httpx.HTTPStatusError as error:
            tally.error(f"http {error.response.status_code}", error.response.text)
        except Exception as error:  # every failure is counted, none ends the soak
            where = f"{text} ({'streamed' if stream else 'not streamed'})"
            tally.error(type(error).__name__, f"{where}: {error!r} from {error.__cause__!r}")
        else:
            if content == f"echo: {text}":
                tally.turns += 1
            else:
                tally.error("wrong answer", repr(content))
        turn += 1


async def sample_rss(pid: int, until: float, samples: list[int]) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(min(SAMPLE_EVERY, max(until - time.monotonic(), 0)))
        samples.append(rss_kib(pid))


async def soak(url: str, pid: int, sessions: int, seconds: float) -> dict:
    tally, samples = Tally(), []
    limits = httpx.Limits(max_connections=sessions + 10, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(base_url=url, timeout=TURN_TIMEOUT, limits=limits) as client:
        rss_start = rss_kib(pid)
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            sample_rss(pid, until, samples),
            *(session_loop(client, n, until, tally) for n in range(sessions)),
        )
        elapsed = time.monotonic() - started
    return {
        "sessions": sessions,
        "seconds": round(elapsed, 1),
        "turns": tally.turns,
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(tally.errors),
        "error_samples": tally.samples,
        "rss_start_kib": rss_start,
        "rss_samples_kib": samples,
        "rss_end_kib": rss_kib(pid),
    }


def run(sessions: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, running_simulator() as sim:
        settings = {
            "MAX_QUEUED_TURNS": str(sessions),
            "QUEUE_TIMEOUT": str(TURN_TIMEOUT),
            "LLM_TIMEOUT": str(TURN_TIMEOUT),
        }
        service = Service(service_env(sim.base_url, Path(tmp), **settings), Path(tmp))
        service.start()
        try:
            result = asyncio.run(soak(service.url, service.process.pid, sessions, seconds))
        finally:
            service.stop()
        logged = [line for line in service.output().splitlines() if "ERROR" in line]
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {**result, "load_average": load, "service_errors_logged": logged[:5]}


def report(result: dict) -> str:
    mib = [round(kib / 1024, 1) for kib in result["rss_samples_kib"]]
    lines = [
        f"{result['sessions']} sessions for {result['seconds']} s: {result['turns']} turns, "
        f"{result['errors']} errors {result['errors_by_kind'] or ''}",
        f"service RSS: start {result['rss_start_kib'] / 1024:.1f} MiB, "
        f"end {result['rss_end_kib'] / 1024:.1f} MiB (every {SAMPLE_EVERY:g} s: {mib})",
        f"load average at the end: {' '.join(result['load_average'])}",
        *result["error_samples"],
        *result["service_errors_logged"],
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="20 sessions for 5 s")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    sessions, seconds = (20, 5.0) if args.quick else (args.sessions, args.seconds)
    result = run(sessions, seconds)
    print(json.dumps(result) if args.json else report(result))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
