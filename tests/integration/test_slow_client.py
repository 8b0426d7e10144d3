"""A streamed turn whose client stops reading is given up after STREAM_SEND_TIMEOUT: its
slot and session are released, and nothing of it is stored (docs/operations-limits.md)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

KEY = "slow-client-key"
LONG = "x" * 4_000_000  # far more than the socket buffers of a client that never reads
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def two_slots(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    env = service_env(
        sim.base_url,
        tmp_path,
        API_KEY=KEY,
        LLM_TIMEOUT="60",
        MAX_CONCURRENT_TURNS="2",
        MAX_QUEUED_TURNS="4",
        QUEUE_TIMEOUT="30",
        STREAM_SEND_TIMEOUT="1",
    )
    svc = Service(env, tmp_path).start()
    yield svc
    svc.stop()


REQUESTS = {
    "/v1/chat/completions": lambda text: {"messages": [{"role": "user", "content": text}]},
    "/v1/responses": lambda text: {"input": text},
}


def never_read(svc: Service, path: str, text: str) -> socket.socket:
    """Send a streamed turn request on a socket with a small receive buffer, and never read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", svc.port))
    body = json.dumps({"model": "m", "stream": True, **REQUESTS[path](text)}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{svc.port}\r\n"
        f"Authorization: Bearer {KEY}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def wait_for_running(svc: Service, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{svc.url}/queue/status", timeout=30).json()["running"] == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"never {count} running turns")


@pytest.mark.parametrize("path", list(REQUESTS))
def test_clients_that_never_read_do_not_keep_the_slots(
    two_slots: Service, sim: SimServer, path: str
) -> None:
    sim.control.rule("long answer", {"content": LONG, "chunk_size": 65536})
    with ExitStack() as sockets:
        for index in range(2):
            sockets.callback(never_read(two_slots, path, f"long answer {index}").close)
        wait_for_running(two_slots, 2)
        third = httpx.post(
            f"{two_slots.url}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "a reading client"}]},
            headers=AUTH,
            timeout=120,
        )
        assert third.status_code == 200, third.text
        assert third.json()["choices"][0]["message"]["content"] == "echo: a reading client"
        listed = httpx.get(f"{two_slots.url}/v1/sessions", headers=AUTH, timeout=30).json()
        for session in listed["data"]:
            url = f"{two_slots.url}/v1/sessions/{session['id']}"
            history = httpx.get(url, headers=AUTH, timeout=30).json()["messages"]
            assert not [m for m in history if LONG[:1000] in (m.get("content") or "")]
    wait_for_running(two_slots, 0)
