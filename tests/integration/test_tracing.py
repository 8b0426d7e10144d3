"""Tracing through LangChain's own settings: off by default, each turn traced when
LANGSMITH_TRACING=true (here to a LangSmith stand-in on loopback), model calls included as
LLM runs with their token usage."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with `{}` and records (method, path, body)."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.received.append((self.command, self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PATCH = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def langsmith() -> Iterator[str]:
    Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _one_turn(svc: Service) -> None:
    body = {"messages": [{"role": "user", "content": "trace me please"}]}
    response = httpx.post(f"{svc.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text


def _runs_posted() -> list[tuple[str, str, bytes]]:
    return [r for r in Recorder.received if r[0] == "POST" and r[1].startswith("/runs")]


def test_tracing_is_off_by_default(
    sim_server: SimServer, sim: SimServer, langsmith: str, tmp_path: Path
) -> None:
    env = service_env(sim_server.base_url, tmp_path, LANGSMITH_ENDPOINT=langsmith)
    svc = Service(env, tmp_path).start()
    _one_turn(svc)
    svc.stop()  # a tracing client would flush its queue on exit
    assert _runs_posted() == []


def test_langsmith_tracing_traces_each_turn(
    sim_server: SimServer, sim: SimServer, langsmith: str, tmp_path: Path
) -> None:
    env = service_env(
        sim_server.base_url,
        tmp_path,
        LANGSMITH_TRACING="true",
        LANGSMITH_ENDPOINT=langsmith,
        LANGSMITH_API_KEY="test-key",
        LANGSMITH_PROJECT="oss-agent-test",
    )
    svc = Service(env, tmp_path).start()
    usage = {"prompt_tokens": 4321, "completion_tokens": 87, "total_tokens": 4408}
    sim.control.script({"content": "traced answer", "usage": usage})
    _one_turn(svc)
    deadline = time.monotonic() + 120
    while b"traced answer" not in _posted() and time.monotonic() < deadline:
        time.sleep(0.2)
    svc.stop()
    posted = _posted()
    assert posted, f"no run reached the tracing endpoint: {Recorder.received}"
    assert b"trace me please" in posted  # the turn's input is in the trace
    assert "test-key" not in svc.output()
    # the model call is an LLM run: prompt, reply and token usage
    assert b'"run_type":"llm"' in posted
    assert b"traced answer" in posted
    assert b'"input_tokens":4321' in posted
    assert b'"output_tokens":87' in posted


def _posted() -> bytes:
    return b"".join(body for _, _, body in _runs_posted())
