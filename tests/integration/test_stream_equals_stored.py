"""Issue 8's failure classes through the running service (auto mode) against the simulator:
streamed (re-chunked into small deltas) and not, a reply is the same, holds no markup, and
the stored session history equals what the client was shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.tooldefs import WEATHER, function_tool
from tests.upstream_sim.fixtures import SimServer

WRITE = function_tool("write_file", "Write a file", "path", "content")
CALL = (
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city":"Paris"}<|call|>'
)


@pytest.fixture(scope="module")
def service(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service whose model's chat template opens `<think>` (REASONING_OPENED_IN_PROMPT)."""
    workdir = tmp_path_factory.mktemp("opened")
    env = service_env(sim_server.base_url, workdir, REASONING_OPENED_IN_PROMPT="true")
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def ask(
    service: Service, step: dict[str, Any], sim: SimServer, tools: list | None, stream: bool
) -> dict[str, Any]:
    """One turn; the reply as the client saw it, plus the session id."""
    sim.control.script(step)
    body: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": "go"}],
        "metadata": {"tools": ""},
        "stream": stream,
    }
    if tools:
        body["tools"] = tools
    with service.http() as http:
        if not stream:
            response = http.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
            choice = response.json()["choices"][0]
            message = choice["message"]
            calls = [
                (c["function"]["name"], json.loads(c["function"]["arguments"]))
                for c in message.get("tool_calls") or []
            ]
            reply = {
                "content": message.get("content"),
                "reasoning": message.get("reasoning"),
                "calls": calls,
                "finish": choice["finish_reason"],
            }
            return {**reply, "session": response.headers["x-session-id"]}
        return {**_streamed(http, body)}


def _streamed(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    content, reasoning, calls, finish = "", "", {}, None
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        session = response.headers["x-session-id"]
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line.removeprefix("data: "))
            assert "error" not in event, event
            choice = event["choices"][0]
            delta = choice["delta"]
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning") or ""
            for call in delta.get("tool_calls") or []:
                name, args = calls.get(call["index"], ("", ""))
                function = call["function"]
                calls[call["index"]] = (
                    name + (function.get("name") or ""),
                    args + function["arguments"],
                )
            finish = choice["finish_reason"] or finish
    return {
        "content": content or None,
        "reasoning": reasoning or None,
        "calls": [(n, json.loads(a)) for n, a in (calls[i] for i in sorted(calls))],
        "finish": finish,
        "session": session,
    }


def stored(service: Service, session: str) -> dict[str, Any]:
    """The turn's assistant message as GET /v1/sessions/{id} lists it."""
    with service.http() as http:
        messages = http.get(f"/v1/sessions/{session}").json()["messages"]
    last = [m for m in messages if m["role"] == "assistant"][-1]
    calls = [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in last.get("tool_calls") or []
    ]
    return {"content": last.get("content"), "reasoning": last.get("reasoning"), "calls": calls}


CASES = {
    "harmony-in-content": (
        {
            "content": "<|channel|>analysis<|message|>Think first.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Hello there.<|return|>"
        },
        None,
        {"content": "Hello there.", "reasoning": "Think first.", "calls": [], "finish": "stop"},
    ),
    "late-marker": (
        {"content": "Sure, let me look that up for you now. " + CALL},
        [WEATHER],
        {
            "content": "Sure, let me look that up for you now.",
            "reasoning": None,
            "calls": [("get_weather", {"city": "Paris"})],
            "finish": "tool_calls",
        },
    ),
    "think-closed-without-opening": (
        {"content": "The user greets me.</think>Hi!"},
        None,
        {"content": "Hi!", "reasoning": "The user greets me.", "calls": [], "finish": "stop"},
    ),
    "truncated-call": (
        {
            "content": "Checking. " + CALL.removesuffix('Paris"}<|call|>') + "Pa",
            "finish_reason": "length",
        },
        [WEATHER],
        {"content": "Checking.", "reasoning": None, "calls": [], "finish": "length"},
    ),
    "malformed-native-call-before-a-cut-one": (
        {
            "tool_calls": [
                {"name": "get_weather", "arguments": "{'city': 'Paris'}"},
                {"name": "get_weather", "arguments": '{"city": "Ro'},
            ],
            "finish_reason": "length",
        },
        [WEATHER],
        {
            "content": None,
            "reasoning": None,
            "calls": [("get_weather", {"city": "Paris"})],
            "finish": "length",
        },
    ),
    "marker-inside-json-string": (
        {
            "content": "<|start|>assistant<|channel|>commentary to=functions.write_file "
            '<|constrain|>json<|message|>{"path": "a.txt", "content": "x<|call|>y</tool_call>"}'
            "<|call|>"
        },
        [WRITE],
        {
            "content": None,
            "reasoning": None,
            "calls": [("write_file", {"path": "a.txt", "content": "x<|call|>y</tool_call>"})],
            "finish": "tool_calls",
        },
    ),
}


@pytest.mark.parametrize("chunk", [None, 1, 4], ids=["full", "1char", "4char"])
@pytest.mark.parametrize("case", list(CASES))
def test_failure_class_streamed_equals_full_equals_stored(
    service: Service, sim: SimServer, case: str, chunk: int | None
) -> None:
    step, tools, expected = CASES[case]
    if chunk and "content" in step:
        step = {**step, "content_chunks": split(step["content"], chunk)}
    got = ask(service, step, sim, tools, stream=chunk is not None)
    session = got.pop("session")
    assert got == expected
    assert "<|" not in (got["content"] or "")
    view = stored(service, session)
    assert view == {k: expected[k] for k in ("content", "reasoning", "calls")}


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
def test_parallel_calls_keep_the_models_order_when_one_needed_repair(
    service: Service, sim: SimServer, stream: bool
) -> None:
    calls = [
        {"name": "get_weather", "arguments": "{'city': 'Paris'"},  # needs json-repair
        {"name": "get_weather", "arguments": '{"city": "Rome"}'},
    ]
    got = ask(service, {"tool_calls": calls}, sim, [WEATHER], stream=stream)
    assert got["calls"] == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
    assert stored(service, got["session"])["calls"] == got["calls"]


@pytest.mark.parametrize("chunk", [None, 3], ids=["full", "3char"])
def test_a_hermes_call_inside_reasoning_is_recovered(
    service: Service, sim: SimServer, chunk: int | None
) -> None:
    reasoning = (
        'I will check. <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}'
        "</tool_call>"
    )
    step: dict[str, Any] = {"reasoning": reasoning, "content": None}
    if chunk:
        step["reasoning_chunks"] = split(reasoning, chunk)
    got = ask(service, step, sim, [WEATHER], stream=chunk is not None)
    session = got.pop("session")
    expected = {
        "content": None,
        "reasoning": "I will check.",
        "calls": [("get_weather", {"city": "Oslo"})],
        "finish": "tool_calls",
    }
    assert got == expected
    assert stored(service, session) == {k: expected[k] for k in ("content", "reasoning", "calls")}


def test_a_call_when_no_tool_exists_is_told_so(service: Service, sim: SimServer) -> None:
    calls = [{"name": "get_weather", "arguments": '{"city": "Paris"}'}]
    got = ask(service, {"tool_calls": calls}, sim, None, stream=False)
    assert got["calls"] == []
    told = sim.control.bodies()[-1]["messages"][-1]
    assert told["role"] == "tool"
    assert "no tools are available" in told["content"]
    assert "[none]" not in told["content"] and "try one of" not in told["content"]


@pytest.fixture(scope="module")
def prompt_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """TOOL_CALL_MODE=prompt: the tools are described in the prompt, the reply parsed."""
    workdir = tmp_path_factory.mktemp("prompt")
    env = service_env(sim_server.base_url, workdir, TOOL_CALL_MODE="prompt")
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


@pytest.mark.parametrize("chunk", [None, 1, 4], ids=["full", "1char", "4char"])
@pytest.mark.parametrize("case", ["harmony-in-content", "late-marker"])
def test_prompt_mode_keeps_harmony_markup_out_of_content(
    prompt_service: Service, sim: SimServer, case: str, chunk: int | None
) -> None:
    step, tools, expected = CASES[case]
    if chunk:
        step = {**step, "content_chunks": split(step["content"], chunk)}
    got = ask(prompt_service, step, sim, tools, stream=chunk is not None)
    session = got.pop("session")
    assert got == expected
    view = stored(prompt_service, session)
    assert view == {k: expected[k] for k in ("content", "reasoning", "calls")}


@pytest.fixture(scope="module")
def plain_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The defaults: auto mode, no `<think>` opened by the template."""
    workdir = tmp_path_factory.mktemp("plain")
    svc = Service(service_env(sim_server.base_url, workdir), workdir).start()
    yield svc
    svc.stop()


def test_a_json_answer_asked_for_streams_as_it_comes(
    plain_service: Service, sim: SimServer
) -> None:
    """With `response_format` JSON, a bare JSON object is the answer, not a call written as
    text: it streams delta by delta instead of being held to the end, even with tools."""
    answer = json.dumps({"city": "Paris", "note": "a JSON answer, not a call " * 4})
    # chunks 20 ms apart, each in a read of its own: what one read brings leaves as one event
    chunks = {"content_chunks": split(answer, 8), "chunk_delay": 0.02}
    sim.control.script({"content": answer, **chunks})
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "go"}],
        "tools": [WEATHER],
        "response_format": {"type": "json_object"},
        "stream": True,
    }
    deltas = []
    service = plain_service
    with service.http() as http, http.stream("POST", "/v1/chat/completions", json=body) as r:
        session = r.headers["x-session-id"]
        for line in r.iter_lines():
            if line.startswith("data: {"):
                delta = json.loads(line.removeprefix("data: "))["choices"][0]["delta"]
                assert not delta.get("tool_calls"), delta
                deltas += [delta["content"]] if delta.get("content") else []
    assert "".join(deltas) == answer
    assert len(deltas) > 1, "the answer was held back and sent in one piece"
    assert stored(service, session) == {"content": answer, "reasoning": None, "calls": []}
