"""`oss-agent serve --demo`: the service with its built-in demo model, used through the
running service the way a newcomer would (OpenAI SDK, streamed and not, tool activity,
sessions, /ready)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.integration.conftest import service_env
from tests.integration.service import OSS_AGENT, Service
from tests.upstream_sim.fixtures import free_port


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("demo")
    # LLM_BASE_URL points at nothing: --demo must not need it
    env = service_env(f"http://127.0.0.1:{free_port()}/v1", workdir, LOG_LEVEL="INFO")
    svc = Service(env, workdir, args=["--demo"]).start()
    yield svc
    svc.stop()


def test_ready_and_the_banner_say_it_is_the_demo_model(demo: Service) -> None:
    with demo.http() as http:
        ready = http.get("/ready")
        models = http.get("/v1/models").json()
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["upstream"]["ok"] is True
    assert body["demo"].startswith("Demo mode: answers come from the built-in demo model")
    assert [m["id"] for m in models["data"]] == ["oss-agent-demo"]
    assert "oss-agent DEMO MODE" in demo.output()


def test_arithmetic_calls_the_calculator_and_answers_with_its_result(demo: Service) -> None:
    answer = demo.client().chat.completions.create(
        model="oss-agent-demo",
        messages=[{"role": "user", "content": "what is 6*7"}],
        extra_body={"tool_activity": True},
    )
    message = answer.choices[0].message
    assert message.content == "6*7 = 42"
    assert message.tool_calls is None  # a server tool: the service ran it
    started, finished = message.model_extra["tool_activity"]
    assert (started["type"], started["name"]) == ("started", "calculator")
    assert started["arguments"] == '{"expression": "6*7"}'
    assert (finished["type"], finished["result"], finished["error"]) == ("finished", "42", None)
    assert "calculator" in message.model_extra["reasoning_content"]


def test_the_time_streams_reasoning_tool_activity_and_the_clock_s_answer(demo: Service) -> None:
    stream = demo.client().chat.completions.create(
        model="oss-agent-demo",
        messages=[{"role": "user", "content": "What time is it?"}],
        stream=True,
        extra_body={"tool_activity": True},
    )
    deltas = [chunk.choices[0].delta for chunk in stream if chunk.choices]
    reasoning = [r for d in deltas if (r := d.model_extra.get("reasoning_content"))]
    activity = [a for d in deltas if (a := d.model_extra.get("tool_activity"))]
    content = [d.content for d in deltas if d.content]
    assert len(reasoning) > 1 and "current_time tool" in "".join(reasoning)
    assert [(a["type"], a["name"]) for a in activity] == [
        ("started", "current_time"),
        ("finished", "current_time"),
    ]
    assert "ISO 8601" in activity[1]["result"]
    assert len(content) > 1  # paced tokens, not one block
    assert "".join(content).startswith("It is ")
    assert "<|" not in "".join(content)  # the harmony call was parsed, not shown


def test_a_session_keeps_the_demo_turns(demo: Service) -> None:
    with demo.http() as http:
        first = http.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": "2+3"}]}
        )
        session = first.headers["X-Session-ID"]
        second = http.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hello"}]},
            headers={"X-Session-ID": session},
        )
        history = http.get(f"/v1/sessions/{session}").json()["messages"]
    assert first.json()["choices"][0]["message"]["content"] == "2+3 = 5"
    assert "demo model" in second.json()["choices"][0]["message"]["content"]
    roles = [m["role"] for m in history]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant"]


def test_oss_agent_chat_against_the_demo(demo: Service) -> None:
    result = subprocess.run(
        [OSS_AGENT, "chat", "--url", demo.url],
        input="what is 6*7\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "6*7 = 42\n"
