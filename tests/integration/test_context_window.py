"""Sessions longer than the context window: hundreds of turns against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.llm.context_window import message_tokens, tools_tokens
from agent.messages import to_langchain
from graph.summary import SUMMARY_HEADING, SUMMARY_INSTRUCTIONS
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

WINDOW, REPLY = 1600, 200
FILLER = "The quick brown fox jumps over the lazy dog. " * 6
CHAT = "/v1/chat/completions"


def _service(sim: SimServer, workdir: Path, strategy: str) -> Service:
    env = service_env(
        sim.base_url,
        workdir,
        CONTEXT_WINDOW=str(WINDOW),
        CONTEXT_REPLY_TOKENS=str(REPLY),
        CONTEXT_STRATEGY=strategy,
        TOOLS_ENABLED="calculator",
    )
    return Service(env, workdir)


@pytest.fixture
def dropping(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    svc = _service(sim, tmp_path, "drop").start()
    yield svc
    svc.stop()


@pytest.fixture
def summarizing(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    svc = _service(sim, tmp_path, "summarize").start()
    yield svc
    svc.stop()


def _drive(svc: Service, sim: SimServer, turns: int) -> tuple[str, list[int]]:
    """`turns` turns on one session, every fifth one with a calculator call; returns the
    session id and each turn's X-Context-Trimmed (0 when absent)."""
    session, trimmed = None, []
    with svc.http() as http:
        for turn in range(turns):
            text = f"turn {turn}: {FILLER}"
            if turn % 5 == 0:
                text = f"calc{turn} {text}"
                call = {"name": "calculator", "arguments": {"expression": f"{turn}+1"}}
                sim.control.rule(f"calc{turn} ", {"tool_calls": [call]}, times=1)
            headers = {"X-Session-ID": session} if session else {}
            body = {"model": "m", "messages": [{"role": "user", "content": text}]}
            response = http.post("/v1/chat/completions", json=body, headers=headers)
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["choices"][0]["message"]["content"].startswith(f"echo: {text[:20]}")
            session = response.headers["x-session-id"]
            header = int(response.headers.get("x-context-trimmed", 0))
            assert answer["usage"]["context_trimmed_messages"] == header
            trimmed.append(header)
    assert session is not None
    return session, trimmed


def _prompt_tokens(body: dict) -> int:
    messages = [message_tokens(to_langchain(m)) for m in body["messages"]]
    return sum(messages) + tools_tokens(body.get("tools") or [])


def _check_pairs(body: dict) -> None:
    """Every tool result is sent with the call it answers, and every call with its result."""
    calls: set[str] = set()
    answered: set[str] = set()
    for message in body["messages"]:
        if message["role"] == "assistant":
            calls |= {c["id"] for c in message.get("tool_calls") or []}
        if message["role"] == "tool":
            assert message["tool_call_id"] in calls, body["messages"]
            answered.add(message["tool_call_id"])
    assert calls == answered


def _check_history(svc: Service, session: str, turns: int) -> None:
    history = httpx.get(f"{svc.url}/v1/sessions/{session}").json()["messages"]
    users = [m["content"] for m in history if m["role"] == "user"]
    assert [u.split(":")[0] for u in users] == [
        f"calc{t} turn {t}" if t % 5 == 0 else f"turn {t}" for t in range(turns)
    ]
    tools = [m for m in history if m["role"] == "tool"]
    assert len(tools) == len(range(0, turns, 5))
    assert len(history) == 2 * turns + 2 * len(tools)


def test_a_long_session_stays_within_the_window(dropping: Service, sim: SimServer) -> None:
    turns = 200
    session, trimmed = _drive(dropping, sim, turns)
    bodies = sim.control.bodies(CHAT)
    assert len(bodies) == turns + len(range(0, turns, 5))
    for body in bodies:
        assert _prompt_tokens(body) + REPLY <= WINDOW
        _check_pairs(body)
        assert body["messages"][0]["role"] == "system"
        assert body["messages"][1]["role"] == "user"  # whole turns only
    assert trimmed[:3] == [0, 0, 0] and all(t > 0 for t in trimmed[-100:])
    assert trimmed[-1] > trimmed[-100]  # the window slides: the oldest go first
    _check_history(dropping, session, turns)
    metrics = httpx.get(f"{dropping.url}/metrics").text
    assert 'oss_agent_context_trims_total{strategy="drop"}' in metrics


def test_summaries_stand_in_for_what_is_left_out(summarizing: Service, sim: SimServer) -> None:
    sim.control.rule(SUMMARY_INSTRUCTIONS[:40], {"content": "SUMMARY: the user counts turns."})
    turns = 150
    session, trimmed = _drive(summarizing, sim, turns)
    bodies = sim.control.bodies(CHAT)
    summaries = [b for b in bodies if SUMMARY_INSTRUCTIONS in b["messages"][-1]["content"]]
    turns_bodies = [b for b in bodies if b not in summaries]
    assert len(turns_bodies) == turns + len(range(0, turns, 5))
    using = [b for b in turns_bodies if SUMMARY_HEADING in b["messages"][0]["content"]]
    assert 1 < len(summaries) < len(using) / 2  # reused, refreshed when more is left out
    for body in bodies:
        assert _prompt_tokens(body) + REPLY <= WINDOW
        _check_pairs(body)
    late = turns_bodies[-1]["messages"][0]["content"]
    assert f"{SUMMARY_HEADING}\nSUMMARY: the user counts turns." in late
    assert all(t > 0 for t in trimmed[-50:])
    _check_history(summarizing, session, turns)


def test_a_message_bigger_than_the_window_is_a_400(dropping: Service, sim: SimServer) -> None:
    huge = "word " * 3000
    with dropping.http() as http:
        body = {"model": "m", "messages": [{"role": "user", "content": huge}]}
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert "A single message" in error["message"] and "CONTEXT_WINDOW" in error["message"]
    assert sim.control.bodies(CHAT) == []


def test_a_stream_reports_trimming_in_its_usage(dropping: Service, sim: SimServer) -> None:
    session, trimmed = _drive(dropping, sim, 12)
    assert trimmed[-1] > 0
    stream = dropping.client().chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": f"streamed {FILLER}"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Session-ID": session},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("echo: streamed")
    usage = chunks[-1].usage
    assert usage is not None and getattr(usage, "context_trimmed_messages", 0) >= trimmed[-1]


def test_the_default_reply_reserve_fits_a_small_window(sim: SimServer, tmp_path: Path) -> None:
    """A window smaller than CONTEXT_REPLY_TOKENS (vLLM started with --max-model-len 4096,
    the default reserve 4096): the reserve takes a quarter of it, the turn is answered."""
    env = service_env(sim.base_url, tmp_path, CONTEXT_WINDOW="4096", TOOLS_ENABLED="calculator")
    svc = Service(env, tmp_path).start()
    try:
        sim.control.script({"content": "Fits."})
        with svc.http() as http:
            body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
            response = http.post(CHAT, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == "Fits."
    finally:
        svc.stop()
