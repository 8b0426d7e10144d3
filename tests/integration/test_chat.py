"""Chat completions through the OpenAI SDK against the running service."""

from __future__ import annotations

import json

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer


def test_plain_answer_keeps_reasoning(service: Service, sim: SimServer) -> None:
    sim.control.script({"reasoning": "Greet back.", "content": "Hello there!"})
    raw = service.client().chat.completions.with_raw_response.create(
        model="anything", messages=[{"role": "user", "content": "hi"}]
    )
    reply = raw.parse()
    message = reply.choices[0].message
    assert message.content == "Hello there!"
    assert message.model_extra["reasoning_content"] == "Greet back."
    assert message.model_extra["reasoning"] == "Greet back."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    assert len(raw.headers["x-session-id"]) == 32


def test_request_parameters_reach_the_upstream(service: Service, sim: SimServer) -> None:
    service.client().chat.completions.create(
        model="x",
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "parts "}, {"type": "text", "text": "array"}],
            }
        ],
        temperature=0.3,
        top_p=0.9,
        max_completion_tokens=50,
        stop=["END"],
        reasoning_effort="low",
        user="u1",
        metadata={"k": "v"},
    )
    body = sim.control.bodies("/v1/chat/completions")[-1]
    assert body["messages"][-1] == {"role": "user", "content": "parts array"}
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9
    assert body["max_tokens"] == 50
    assert body["stop"] == ["END"]
    assert body["reasoning_effort"] == "low"
    assert body["model"] == "openai/gpt-oss-20b"


def test_streamed_answer(service: Service, sim: SimServer) -> None:
    sim.control.script({"reasoning": "Think first.", "content": "Streamed reply.", "chunk_size": 4})
    stream = service.client().chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "")
        for c in chunks
        if c.choices
    )
    assert content == "Streamed reply."
    assert reasoning == "Think first."
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_stream_without_usage_has_no_usage_chunk(service: Service, sim: SimServer) -> None:
    sim.control.script({"content": "ok"})
    chunks = list(
        service.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "go"}], stream=True
        )
    )
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_calculator_tool_loop(service: Service, sim: SimServer) -> None:
    sim.control.script(
        {
            "reasoning": "Use the calculator.",
            "tool_calls": [{"name": "calculator", "arguments": {"expression": "25 * 8"}}],
        },
        {"reasoning": "Got it.", "content": "25 × 8 = 200."},
    )
    reply = service.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "25 × 8 계산해줘"}]
    )
    assert reply.choices[0].message.content == "25 × 8 = 200."
    assert reply.choices[0].message.tool_calls is None
    second = sim.control.bodies("/v1/chat/completions")[-1]
    assistant, tool = second["messages"][-2], second["messages"][-1]
    assert assistant["tool_calls"][0]["function"]["name"] == "calculator"
    assert assistant["reasoning"] == "Use the calculator."
    assert tool["role"] == "tool" and tool["content"] == "200"
    assert tool["tool_call_id"] == assistant["tool_calls"][0]["id"]
    offered = {t["function"]["name"] for t in second["tools"]}
    assert "calculator" in offered


LOOP = (
    {
        "content": "Let me compute. ",
        "tool_calls": [{"name": "calculator", "arguments": {"expression": "2**10"}}],
    },
    {"content": "It is 1024."},
)


def test_streamed_tool_loop_streams_both_steps(service: Service, sim: SimServer) -> None:
    sim.control.script(*LOOP)
    chunks = list(
        service.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "2^10?"}], stream=True
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == "Let me compute.\n\nIt is 1024."
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert not any(c.choices[0].delta.tool_calls for c in chunks)


def test_full_response_content_equals_the_stream(service: Service, sim: SimServer) -> None:
    sim.control.script(*LOOP)
    reply = service.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "2^10?"}]
    )
    assert reply.choices[0].message.content == "Let me compute.\n\nIt is 1024."


def test_step_limit_ends_a_runaway_loop(fresh_service: Service, sim: SimServer) -> None:
    fresh_service.env["MAX_STEPS"] = "2"
    fresh_service.start()
    call = {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}
    sim.control.script(call, call, call)
    reply = fresh_service.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "loop"}]
    )
    assert "MAX_STEPS=2" in reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert len(sim.control.bodies("/v1/chat/completions")) == 2


def test_tool_error_goes_back_to_the_model(service: Service, sim: SimServer) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "9**9**9"}}]},
        {"content": "That number is too large."},
    )
    reply = service.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "big"}]
    )
    assert reply.choices[0].message.content == "That number is too large."
    tool = sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]
    assert tool["role"] == "tool" and tool["content"].startswith("Error:")
    assert "calculator" in tool["content"]


def test_required_tool_choice_forces_only_the_first_step(service: Service, sim: SimServer) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
        {"content": "It is 42."},
    )
    reply = service.client().chat.completions.create(
        model="m", messages=[{"role": "user", "content": "6*7?"}], tool_choice="required"
    )
    assert reply.choices[0].message.content == "It is 42."
    first, second = sim.control.bodies("/v1/chat/completions")
    assert first["tool_choice"] == "required"
    assert second["tool_choice"] == "auto"


def _chunk(delta: dict, finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(body)


def _call(call_id: str, name: str, arguments: str) -> dict:
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": call_id,
                "index": 0,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ],
    }


def test_parallel_calls_that_reuse_index_0_stay_apart(service: Service, sim: SimServer) -> None:
    lines = [
        _chunk(_call("call_a", "get_weather", '{"city": "Oslo"}')),
        _chunk(_call("call_b", "get_time", '{"timezone": "UTC"}')),
        _chunk({"role": "assistant", "content": ""}, "tool_calls"),
    ]
    sim.control.script({"sse": lines})
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("get_weather", "get_time")
    ]
    chunks = list(
        service.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "both"}], tools=tools, stream=True
        )
    )
    calls: dict[int, list[str]] = {}
    for chunk in chunks:
        for call in chunk.choices[0].delta.tool_calls or []:
            name, args = calls.setdefault(call.index, ["", ""])
            calls[call.index] = [
                name + (call.function.name or ""),
                args + (call.function.arguments or ""),
            ]
    assert [(n, json.loads(a)) for n, a in calls.values()] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"timezone": "UTC"}),
    ]
