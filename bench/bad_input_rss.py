"""The service's memory (RSS) before and after a run of oversized and poisoned requests.

Run: `uv run python bench/bad_input_rss.py [--rounds 20]`. Starts one simulator and one
oss-agent process (default limits, SQLite in a temporary directory, loopback only), sends a
few good turns to warm it up, reads its RSS, then sends `--rounds` rounds of bad input:
a 100 MB body announced by Content-Length, a 20 MB body sent chunked, 5,000 messages, a
2 MB message, JSON nested 5,000 levels deep, NaN in a tool schema and a lone surrogate.
Prints every status seen and the RSS before and after (and after two more good turns).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import socket
import sys
import tempfile
from pathlib import Path

import httpx
import psutil

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import free_port, start_process

CHAT = "/v1/chat/completions"
USER = {"role": "user", "content": "hi"}


def raw_post(port: int, head_lines: list[str], body_parts: list[bytes]) -> int:
    """POST raw bytes; the status, or 0 when the server closed first."""
    head = ["POST /v1/chat/completions HTTP/1.1", "Host: bench", "Connection: close"]
    head += ["Content-Type: application/json", *head_lines]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        answer = b""
        with contextlib.suppress(OSError):
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            for part in body_parts:
                sock.sendall(part)
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def bad_round(svc: Service, http: httpx.Client, seen: collections.Counter) -> None:
    seen[raw_post(svc.port, ["Content-Length: 104857600"], [b'{"messages": ['])] += 1
    chunk = b"x" * 1_048_576
    chunked = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 20
    seen[raw_post(svc.port, ["Transfer-Encoding: chunked"], chunked)] += 1
    seen[http.post(CHAT, json={"messages": [USER] * 5000}).status_code] += 1
    big = {"messages": [{"role": "user", "content": "x" * 2_000_000}]}
    seen[http.post(CHAT, json=big).status_code] += 1
    deep = b'{"messages":[{"role":"user","content":[{"type":"image_url","image_url":%s}]}]}'
    seen[http.post(CHAT, content=deep % (b"[" * 5000 + b"]" * 5000), headers=JSON).status_code] += 1
    nan = (
        b'{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function",'
        b'"function":{"name":"f","parameters":{"default":NaN}}}]}'
    )
    seen[http.post(CHAT, content=nan, headers=JSON).status_code] += 1
    lone = b'{"messages":[{"role":"user","content":"\\ud800"}]}'
    seen[http.post(CHAT, content=lone, headers=JSON).status_code] += 1


JSON = {"Content-Type": "application/json"}


def rss_mb(svc: Service) -> float:
    assert svc.process is not None
    return psutil.Process(svc.process.pid).memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    port = free_port()
    command = [sys.executable, "-m", "tests.upstream_sim", "--port", str(port)]
    with (
        start_process(command, {}, f"http://127.0.0.1:{port}/health"),
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = service_env(f"http://127.0.0.1:{port}/v1", Path(tmp), LLM_TIMEOUT="120")
        svc = Service(env, Path(tmp)).start()
        try:
            with httpx.Client(base_url=svc.url, timeout=300) as http:
                for _ in range(5):
                    http.post(CHAT, json={"messages": [USER]}).raise_for_status()
                before = rss_mb(svc)
                seen: collections.Counter = collections.Counter()
                for _ in range(rounds):
                    bad_round(svc, http, seen)
                after = rss_mb(svc)
                for _ in range(2):
                    http.post(CHAT, json={"messages": [USER]}).raise_for_status()
                print(f"statuses: {dict(sorted(seen.items()))}")
                print(
                    f"RSS before {before:.0f} MB, after {after:.0f} MB, "
                    f"after two good turns {rss_mb(svc):.0f} MB"
                )
        finally:
            svc.stop()


if __name__ == "__main__":
    main()
