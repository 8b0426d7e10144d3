"""Tool limits through the running service: the calls of one model reply are capped, the
bytes written per turn are capped, and a hard link to an outside file is not read."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

CALLS = 500
CAP = 32  # MAX_TOOL_CALLS_PER_REPLY's default
WRITE_QUOTA = 1000
SECRET = "outside-secret-reached-through-a-hard-link"


@pytest.fixture(scope="module")
def agent(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("limits")
    env = service_env(
        sim_server.base_url,
        workdir,
        TOOLS_FILES_WRITE="true",
        TOOL_WRITE_BYTES_PER_TURN=str(WRITE_QUOTA),
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def _ask(svc: Service, text: str) -> str:
    payload = {"messages": [{"role": "user", "content": text}]}
    response = httpx.post(f"{svc.url}/v1/chat/completions", json=payload, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def _tool_results(sim: SimServer, request: int = -1) -> list[str]:
    messages = sim.control.bodies("/v1/chat/completions")[request]["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def _call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def test_a_reply_with_500_calls_runs_only_the_cap(agent: Service, sim: SimServer) -> None:
    calls = [_call("calculator", expression=f"{n} + 1000") for n in range(CALLS)]
    sim.control.script({"tool_calls": calls}, {"content": "done"})
    assert _ask(agent, "add them all") == "done"
    results = _tool_results(sim)
    assert len(results) == CALLS  # every call has an answer, so the model can go on
    assert results[:CAP] == [str(n + 1000) for n in range(CAP)]
    for result in results[CAP:]:
        assert result.startswith(f"Not run: this reply made {CALLS} tool calls")
        assert f"MAX_TOOL_CALLS_PER_REPLY={CAP}" in result


def test_writes_past_the_turn_quota_are_refused(agent: Service, sim: SimServer) -> None:
    workspace = agent.cwd / "workspace"
    sim.control.script(
        {"tool_calls": [_call("write_file", path="a.txt", content="a" * 600)]},
        {"tool_calls": [_call("write_file", path="b.txt", content="b" * 600)]},
        {"content": "wrote what I could"},
    )
    assert _ask(agent, "write two files") == "wrote what I could"
    refusal = _tool_results(sim)[-1]
    assert "write refused" in refusal and "TOOL_WRITE_BYTES_PER_TURN" in refusal
    assert (workspace / "a.txt").stat().st_size == 600
    assert not (workspace / "b.txt").exists()
    sim.control.script(
        {"tool_calls": [_call("write_file", path="b.txt", content="b" * 600)]},
        {"content": "new turn, new quota"},
    )
    assert _ask(agent, "write b now") == "new turn, new quota"
    assert _tool_results(sim)[-1].startswith("Wrote 600 characters to 'b.txt'")


def test_a_hard_link_to_an_outside_file_is_not_read(agent: Service, sim: SimServer) -> None:
    outside = agent.cwd / "outside.txt"
    outside.write_text(SECRET + "\n")
    os.link(outside, agent.cwd / "workspace" / "linked.txt")
    sim.control.script(
        {"tool_calls": [_call("read_file", path="linked.txt")]},
        {"tool_calls": [_call("search_files", query="reached-through")]},
        {"content": "could not read it"},
    )
    assert _ask(agent, "read linked.txt") == "could not read it"
    read, search = _tool_results(sim, -2)[-1], _tool_results(sim)[-1]
    assert "2 hard links" in read and "TOOLS_FILES_ALLOW_HARDLINKS" in read
    assert search.startswith("No matches")
    assert not [text for text in _tool_results(sim) if SECRET in text]
    assert str(agent.cwd) not in str(sim.control.bodies("/v1/chat/completions"))


def test_client_calls_past_the_cap_are_not_handed_to_the_client(
    agent: Service, sim: SimServer
) -> None:
    calls = [_call("calculator", expression="1 + 1") for _ in range(CAP)]
    calls.append(_call("get_weather", city="Oslo"))
    sim.control.script({"tool_calls": calls}, {"content": "no weather"})
    weather = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }
    payload = {"messages": [{"role": "user", "content": "weather?"}], "tools": [weather]}
    response = httpx.post(f"{agent.url}/v1/chat/completions", json=payload, timeout=120)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "stop" and not choice["message"].get("tool_calls")
    assert choice["message"]["content"] == "no weather"
    assert _tool_results(sim)[-1].startswith(f"Not run: this reply made {CAP + 1} tool calls")
