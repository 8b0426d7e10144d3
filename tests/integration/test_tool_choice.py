"""`tool_choice` and `parallel_tool_calls` through the running service: what is sent
upstream, re-asks (nudges) when a demanded call is missing, and what the session keeps."""

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

CHAT = "/v1/chat/completions"
ASK = {"role": "user", "content": "Weather in Paris?"}
PARIS = {"city": "Paris"}
NO_SERVER_TOOLS = {"tools": ""}


TIME = function_tool("get_time", "Current time in a timezone", "timezone")
TOOLS = [WEATHER, TIME]
NUDGE_ANY = "Answer by calling one of the tools now, with arguments that fit its schema."
NUDGE_WEATHER = "Answer by calling the tool `get_weather` now, with arguments that fit its schema."
NAMED = {"type": "function", "function": {"name": "get_weather"}}
STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


def chat(svc: Service, stream: bool, **body: Any) -> dict[str, Any]:
    """One request; the reply as {content, reasoning, calls, finish_reason, session}."""
    body.setdefault("messages", [ASK])
    raw = svc.client().chat.completions.with_raw_response.create(model="m", stream=stream, **body)
    session = raw.headers["x-session-id"]
    if not stream:
        choice = raw.parse().choices[0]
        calls = choice.message.tool_calls or []
        return {
            "content": choice.message.content,
            "reasoning": (choice.message.model_extra or {}).get("reasoning"),
            "calls": [(c.function.name, json.loads(c.function.arguments)) for c in calls],
            "finish_reason": choice.finish_reason,
            "session": session,
        }
    chunks = [c for c in raw.parse() if c.choices]
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning") or "" for c in chunks
    )
    calls: dict[int, list[str]] = {}
    for chunk in chunks:
        for part in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(part.index, ["", ""])
            entry[0] += part.function.name or ""
            entry[1] += part.function.arguments or ""
    return {
        "content": content or None,
        "reasoning": reasoning or None,
        "calls": [(calls[i][0], json.loads(calls[i][1])) for i in sorted(calls)],
        "finish_reason": chunks[-1].choices[0].finish_reason,
        "session": session,
    }


def history(svc: Service, session: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{svc.url}/v1/sessions/{session}")
    assert response.status_code == 200, response.text
    return response.json()["messages"]


# ---------------------------------------------------------------------------------------------
# none


@STREAMED
def test_none_offers_no_tools_and_drops_native_calls(
    service: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script(
        {
            "reasoning": "I would call it.",
            "tool_calls": [{"name": "get_weather", "arguments": PARIS}],
        }
    )
    reply = chat(service, stream, tools=TOOLS, tool_choice="none")
    assert reply["calls"] == []
    assert reply["content"] is None
    assert reply["reasoning"] == "I would call it."
    assert reply["finish_reason"] == "stop"
    (body,) = sim.control.bodies(CHAT)
    assert "tools" not in body and "tool_choice" not in body
    assert [m["role"] for m in history(service, reply["session"])] == ["user", "assistant"]
    assert history(service, reply["session"])[1].get("tool_calls") is None


@STREAMED
def test_none_keeps_call_text_as_content(service: Service, sim: SimServer, stream: bool) -> None:
    """With no tools offered, nothing names an offered tool: a JSON call is just text."""
    text = json.dumps({"name": "get_weather", "arguments": PARIS})
    sim.control.script({"content": text, "chunk_size": 4})
    reply = chat(service, stream, tools=TOOLS, tool_choice="none")
    assert reply["calls"] == []
    assert reply["content"] == text
    assert reply["finish_reason"] == "stop"
    (body,) = sim.control.bodies(CHAT)
    assert "tools" not in body and "tool_choice" not in body


@STREAMED
def test_none_drops_a_raw_harmony_call(service: Service, sim: SimServer, stream: bool) -> None:
    """A parser-less server returns the call as harmony text: never markup, never a call."""
    sim.control.flavor("raw", chunk_size=4)
    sim.control.script(
        {
            "reasoning": "Call it anyway.",
            "tool_calls": [{"name": "get_weather", "arguments": PARIS}],
        }
    )
    reply = chat(service, stream, tools=TOOLS, tool_choice="none")
    assert reply["calls"] == []
    assert reply["content"] is None
    assert reply["reasoning"] == "Call it anyway."
    assert reply["finish_reason"] == "stop"


# ---------------------------------------------------------------------------------------------
# required / named: sent upstream, re-asked when missing, nudges never stored


@STREAMED
@pytest.mark.parametrize(
    ("choice", "first", "nudge"),
    [
        ("required", {"reasoning": "Guess.", "content": "Probably sunny."}, NUDGE_ANY),
        (NAMED, {"reasoning": "Guess.", "content": "Probably sunny."}, NUDGE_WEATHER),
        (
            NAMED,
            {
                "reasoning": "Guess.",
                "content": "Checking the time.",
                "tool_calls": [{"name": "get_time", "arguments": {"timezone": "CET"}}],
            },
            NUDGE_WEATHER,
        ),
    ],
    ids=["required", "named-no-call", "named-other-call"],
)
def test_demanded_call_is_reasked(
    service: Service, sim: SimServer, stream: bool, choice: Any, first: dict, nudge: str
) -> None:
    sim.control.script(
        first,
        {"reasoning": "Call it.", "tool_calls": [{"name": "get_weather", "arguments": PARIS}]},
    )
    reply = chat(service, stream, tools=TOOLS, tool_choice=choice, metadata=NO_SERVER_TOOLS)
    assert reply["calls"] == [("get_weather", PARIS)]
    assert reply["finish_reason"] == "tool_calls"
    assert reply["content"] is None
    assert reply["reasoning"] == "Call it."
    asked, reasked = sim.control.bodies(CHAT)
    for body in (asked, reasked):
        assert body["tool_choice"] == choice
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    assert asked["messages"][1:] == [ASK]
    assert reasked["messages"][1:] == [
        ASK,
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": nudge},
    ]
    stored = history(service, reply["session"])
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[0]["content"] == ASK["content"]
    assert stored[1]["content"] is None
    assert stored[1]["reasoning"] == "Call it."
    assert [c["function"]["name"] for c in stored[1]["tool_calls"]] == ["get_weather"]
    assert nudge not in json.dumps(stored)


@STREAMED
def test_required_without_a_call_after_the_reasks_returns_the_text(
    service: Service, sim: SimServer, stream: bool
) -> None:
    answer = {"reasoning": "No tool needed.", "content": "It is sunny."}
    sim.control.script(answer, answer, answer, {"content": "never asked"})
    reply = chat(service, stream, tools=TOOLS, tool_choice="required", metadata=NO_SERVER_TOOLS)
    assert reply["content"] == "It is sunny."
    assert reply["reasoning"] == "No tool needed."
    assert reply["calls"] == [] and reply["finish_reason"] == "stop"
    bodies = sim.control.bodies(CHAT)
    assert len(bodies) == 3  # TOOL_CALL_RETRIES=2 re-asks
    assert [m["content"] for m in bodies[-1]["messages"][1:]] == [
        ASK["content"],
        "It is sunny.",
        NUDGE_ANY,
        "It is sunny.",
        NUDGE_ANY,
    ]
    stored = history(service, reply["session"])
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", ASK["content"]),
        ("assistant", "It is sunny."),
    ]


@STREAMED
def test_required_is_satisfied_by_a_call_at_once(
    service: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script({"tool_calls": [{"name": "get_time", "arguments": {"timezone": "UTC"}}]})
    reply = chat(service, stream, tools=TOOLS, tool_choice="required", metadata=NO_SERVER_TOOLS)
    assert reply["calls"] == [("get_time", {"timezone": "UTC"})]
    assert reply["finish_reason"] == "tool_calls"
    (body,) = sim.control.bodies(CHAT)
    assert body["tool_choice"] == "required"


# ---------------------------------------------------------------------------------------------
# parallel_tool_calls


@STREAMED
@pytest.mark.parametrize("parallel", [False, True, None], ids=["false", "true", "unset"])
def test_parallel_tool_calls(
    service: Service, sim: SimServer, stream: bool, parallel: bool | None
) -> None:
    sim.control.script(
        {
            "tool_calls": [
                {"name": "get_weather", "arguments": PARIS},
                {"name": "get_time", "arguments": {"timezone": "Europe/Paris"}},
            ]
        }
    )
    extra = {} if parallel is None else {"parallel_tool_calls": parallel}
    reply = chat(service, stream, tools=TOOLS, metadata=NO_SERVER_TOOLS, **extra)
    both = [("get_weather", PARIS), ("get_time", {"timezone": "Europe/Paris"})]
    assert reply["calls"] == (both[:1] if parallel is False else both)
    assert reply["finish_reason"] == "tool_calls"
    (body,) = sim.control.bodies(CHAT)
    if parallel is None:
        assert "parallel_tool_calls" not in body
    else:
        assert body["parallel_tool_calls"] is parallel
    stored = history(service, reply["session"])
    assert len(stored[-1]["tool_calls"]) == len(reply["calls"])


# ---------------------------------------------------------------------------------------------
# harmony mode: the same choices without a server-side tool_choice


@pytest.fixture(scope="module")
def harmony_service(sim_server: SimServer, tmp_path_factory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("harmony")
    env = service_env(sim_server.base_url, workdir, TOOL_CALL_MODE="harmony")
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


@STREAMED
def test_harmony_none_renders_no_tools(
    harmony_service: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script({"text": "<|channel|>final<|message|>No tools today."})
    reply = chat(harmony_service, stream, tools=TOOLS, tool_choice="none")
    assert reply["content"] == "No tools today."
    (body,) = sim.control.bodies("/v1/completions")
    assert "namespace functions" not in body["prompt"]
    assert "functions" not in body["prompt"].split("<|start|>developer")[0]


@STREAMED
def test_harmony_required_is_reasked_in_the_prompt(
    harmony_service: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script(
        {"text": "<|channel|>final<|message|>Probably sunny."},
        {
            "text": "<|channel|>commentary to=functions.get_weather <|constrain|>json"
            '<|message|>{"city":"Paris"}<|call|>'
        },
    )
    reply = chat(
        harmony_service, stream, tools=TOOLS, tool_choice="required", metadata=NO_SERVER_TOOLS
    )
    assert reply["calls"] == [("get_weather", PARIS)]
    assert reply["finish_reason"] == "tool_calls"
    assert reply["content"] is None
    asked, reasked = sim.control.bodies("/v1/completions")
    assert "tool_choice" not in asked
    assert reasked["prompt"].endswith(
        "<|start|>user<|message|>Weather in Paris?<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Probably sunny.<|end|>"
        f"<|start|>user<|message|>{NUDGE_ANY}<|end|><|start|>assistant"
    )
    stored = history(harmony_service, reply["session"])
    assert [m["role"] for m in stored] == ["user", "assistant"]
