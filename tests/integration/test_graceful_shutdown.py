"""Stopping the service (SIGTERM, as Kubernetes and Docker stop it) with a turn running:
the turn gets SHUTDOWN_GRACE seconds to finish and is stored whole; a turn still running
after that is cut and rolled back, never stored in part."""

from __future__ import annotations

import json
import signal
import subprocess
import threading

import httpx

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

SLOW = {"chunk_size": 5, "chunk_delay": 0.05}


def _first_turn(svc: Service) -> str:
    reply = svc.client().chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "one"}]
    )
    return reply.headers["x-session-id"]


def _stream_with_sigterm(svc: Service, session: str) -> list[str]:
    """Stream a turn, SIGTERM the service once its first words arrived, read to the end."""
    body = {"stream": True, "messages": [{"role": "user", "content": "two"}]}
    headers = {"X-Session-ID": session}
    lines: list[str] = []
    with httpx.stream(
        "POST", f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=60
    ) as response:
        for line in response.iter_lines():
            lines.append(line)
            if len(lines) == 4:  # the role chunk, then the first words
                assert svc.process is not None
                svc.process.send_signal(signal.SIGTERM)
    return lines


def _content(lines: list[str]) -> str:
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _stopped(svc: Service) -> bool:
    """Whether the service stopped as uvicorn stops on SIGTERM (it re-raises the signal once
    shut down, so the exit status is the signal's)."""
    assert svc.process is not None
    try:
        return svc.process.wait(30) in (0, -signal.SIGTERM)
    except subprocess.TimeoutExpired:
        raise AssertionError("the service did not stop after the turn") from None


def _messages(svc: Service, session: str) -> list[str]:
    history = httpx.get(f"{svc.url}/v1/sessions/{session}").json()["messages"]
    return [m["content"] for m in history]


def test_a_running_turn_finishes_and_is_stored_when_the_service_is_stopped(
    fresh_service: Service, sim: SimServer
) -> None:
    answer = "word " * 39 + "word"  # 40 events 50 ms apart: 2 s, well inside the grace
    sim.control.script({"content": "first"}, {"content": answer, **SLOW})
    fresh_service.env["SHUTDOWN_GRACE"] = "20"
    fresh_service.start()
    session = _first_turn(fresh_service)
    lines = _stream_with_sigterm(fresh_service, session)
    assert _content(lines) == answer and "data: [DONE]" in lines
    assert _stopped(fresh_service)
    fresh_service.start()
    assert _messages(fresh_service, session) == ["one", "first", "two", answer]


def test_a_turn_longer_than_the_grace_is_rolled_back(
    fresh_service: Service, sim: SimServer
) -> None:
    long = "word " * 400  # 20 s of events: far past a one-second grace
    sim.control.script({"content": "first"}, {"content": long, **SLOW})
    fresh_service.env["SHUTDOWN_GRACE"] = "1"
    fresh_service.start()
    session = _first_turn(fresh_service)
    done = threading.Event()
    lines: list[str] = []

    def stream() -> None:
        try:
            lines.extend(_stream_with_sigterm(fresh_service, session))
        except httpx.HTTPError:
            pass  # the connection may close without the stream's end
        finally:
            done.set()

    threading.Thread(target=stream, daemon=True).start()
    assert _stopped(fresh_service)
    assert done.wait(10)
    assert long.startswith(_content(lines)) and len(_content(lines)) < len(long)  # cut short
    fresh_service.start()
    assert _messages(fresh_service, session) == ["one", "first"]
