"""SIGKILL the service at many points of a turn, restart it: the session holds exactly the
turns that finished, never half of one, and the next turn works (issue 14, Durability).

Runs on SQLite and on Postgres (TEST_POSTGRES_URL; skipped when it does not answer).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from typing import Any

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable
from tests.mcp_servers.harness import stdio_entry
from tests.upstream_sim.fixtures import SimServer

WAIT = 60.0  # seconds a kill point may take to be reached on a loaded machine
SLOW = 600.0  # seconds the simulator or a tool sits on a call that is killed


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def agent(
    request: pytest.FixtureRequest, sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The service with a tool that never answers (the test MCP server's `hang_async`)."""
    workdir = tmp_path_factory.mktemp(f"crash-{request.param}")
    mcp = workdir / "mcp.json"
    mcp.write_text(json.dumps({"mcpServers": {"local": stdio_entry()}}))
    extra = {"USE_MCP_TOOLS": "true", "MCP_CONFIG": str(mcp), "MCP_CALL_TIMEOUT": str(SLOW)}
    with ExitStack() as stack:
        if request.param == "postgres":
            if reason := unreachable(POSTGRES_URL):
                pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {reason}")
            extra["DATABASE_URL"] = stack.enter_context(scratch_database(POSTGRES_URL))
        svc = Service(service_env(sim_server.base_url, workdir, **extra), workdir).start()
        stack.callback(svc.stop)
        yield svc


def _chat(svc: Service, text: str, session: str | None = None, **body: Any) -> httpx.Response:
    headers = {"X-Session-ID": session} if session else {}
    payload = {"messages": [{"role": "user", "content": text}], **body}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=payload, headers=headers, timeout=SLOW)


def _history(svc: Service, session: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{svc.url}/v1/sessions/{session}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def _session_with_a_turn(svc: Service, sim: SimServer) -> str:
    sim.control.script({"content": "Hello Ada."})
    response = _chat(svc, "I am Ada.")
    assert response.status_code == 200, response.text
    return response.headers["x-session-id"]


def _stream(svc: Service, session: str, text: str, seen: Callable[[dict], bool], ready: Any):
    """Stream a turn; set `ready` at the first chunk `seen` accepts; read until cut off."""
    payload = {"messages": [{"role": "user", "content": text}], "stream": True}
    payload["tool_activity"] = True
    headers = {"X-Session-ID": session}
    with httpx.stream(
        "POST", f"{svc.url}/v1/chat/completions", json=payload, headers=headers, timeout=SLOW
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and seen(json.loads(line[6:])["choices"][0]["delta"]):
                ready.set()


def _kill_during(svc: Service, turn: Callable[[threading.Event], Any], reached: Callable) -> None:
    """Run `turn` in a thread; SIGKILL the service once `reached(event)` says the kill point
    is there (or when it is not reached in time: then fail); restart it."""
    event = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(turn, event)
        try:
            _wait_for(lambda: reached(event), running)
        finally:
            assert svc.process is not None
            svc.process.kill()  # SIGKILL
            svc.process.wait()
        with suppress(httpx.HTTPError):
            running.result()
    svc.process = None
    svc.start()


def _wait_for(condition: Callable[[], bool], running: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the kill point was never reached"
        assert not running.done(), f"the turn ended before the kill point: {running.result()}"
        time.sleep(0.02)


def _is_set(event: threading.Event) -> bool:
    return event.is_set()


def _requests_beyond(sim: SimServer, count: int) -> Callable[[threading.Event], bool]:
    return lambda _: len(sim.control.requests("/v1/chat/completions")) > count


def _point_model_call(svc: Service, sim: SimServer, session: str) -> None:
    """The model was asked and has not answered."""
    sim.control.script({"content": "never sent", "delay": SLOW})
    asked = len(sim.control.requests("/v1/chat/completions"))
    _kill_during(svc, lambda _: _chat(svc, "Are you there?", session), _requests_beyond(sim, asked))


def _point_mid_stream(svc: Service, sim: SimServer, session: str) -> None:
    """The client has part of the answer."""
    chunks = [f"word{i} " for i in range(200)]
    sim.control.script({"content_chunks": chunks, "chunk_delay": 0.5})
    _kill_during(
        svc,
        lambda ready: _stream(
            svc, session, "Tell me a story.", lambda d: bool(d.get("content")), ready
        ),
        threading.Event.is_set,
    )


def _point_tool_running(svc: Service, sim: SimServer, session: str) -> None:
    """A server tool call is stored in the model's reply, its result is not there yet."""
    sim.control.script({"tool_calls": [{"name": "hang_async"}]}, {"content": "never asked"})

    def started(delta: dict) -> bool:
        return (delta.get("tool_activity") or {}).get("type") == "started"

    _kill_during(
        svc,
        lambda ready: _stream(svc, session, "Wait for it.", started, ready),
        threading.Event.is_set,
    )


def _point_after_tool_result(svc: Service, sim: SimServer, session: str) -> None:
    """A server tool ran and the model is asked again with its result."""
    call = {"name": "calculator", "arguments": {"expression": "6*7"}}
    sim.control.script({"tool_calls": [call]}, {"content": "never sent", "delay": SLOW})
    asked = len(sim.control.requests("/v1/chat/completions"))
    _kill_during(
        svc, lambda _: _chat(svc, "What is 6*7?", session), _requests_beyond(sim, asked + 1)
    )


KILL_POINTS = {
    "model_call": _point_model_call,
    "mid_stream": _point_mid_stream,
    "tool_running": _point_tool_running,
    "after_tool_result": _point_after_tool_result,
}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_killed_turn_leaves_the_session_as_before(
    agent: Service, sim: SimServer, point: str
) -> None:
    session = _session_with_a_turn(agent, sim)
    before = _history(agent, session)
    KILL_POINTS[point](agent, sim, session)
    assert _history(agent, session) == before
    sim.control.reset()  # what the killed turn never asked for
    sim.control.script({"content": "Still here."})
    response = _chat(agent, "And now?", session)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Still here."
    after = _history(agent, session)
    assert after[: len(before)] == before
    assert [(m["role"], m["content"]) for m in after[len(before) :]] == [
        ("user", "And now?"),
        ("assistant", "Still here."),
    ]


def _chatter(svc: Service, session: str, prefix: str, acked: list[str]) -> None:
    """Fast turns (the simulator echoes at once) until the service dies."""
    for index in range(10_000):
        text = f"{prefix}-{index}"
        try:
            response = _chat(svc, text, session)
        except httpx.HTTPError:
            return
        if response.status_code == 200:
            acked.append(text)


def _assert_whole_turns(history: list[dict[str, Any]]) -> list[str]:
    """Every user message is followed by its whole answer; the user texts, in order."""
    assert len(history) % 2 == 0, history[-3:]
    users = history[0::2]
    for user, answer in zip(users, history[1::2], strict=True):
        assert user["role"] == "user" and answer["role"] == "assistant", (user, answer)
        assert answer["content"] == f"echo: {user['content']}"
    return [m["content"] for m in users]


@pytest.mark.timeout(900)
def test_kills_at_random_moments_keep_every_finished_turn_whole(
    agent: Service, sim: SimServer
) -> None:
    """Kill while turns follow each other as fast as they can (some kills land while a turn
    is being written); every acknowledged turn is kept, none is kept in part."""
    first = _chat(agent, "start")
    assert first.status_code == 200, first.text
    session = first.headers["x-session-id"]
    chance = random.Random(14)
    for round_ in range(4):
        acked: list[str] = []
        thread = threading.Thread(target=_chatter, args=(agent, session, f"r{round_}", acked))
        thread.start()
        deadline = time.monotonic() + WAIT
        while len(acked) < 2:
            assert time.monotonic() < deadline and thread.is_alive(), "no turn finished"
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.1))
        assert agent.process is not None
        agent.process.kill()
        agent.process.wait()
        thread.join()
        agent.process = None
        agent.start()
        texts = _assert_whole_turns(_history(agent, session))
        assert set(acked) <= set(texts), sorted(set(acked) - set(texts))
    assert _chat(agent, "the end", session).status_code == 200
