"""The upstream simulator speaks the real servers' wire formats (driven by the openai SDK)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.tooldefs import WEATHER
from tests.upstream_sim.control import SimControlError
from tests.upstream_sim.fixtures import SimServer

CORPUS = Path(__file__).parents[1] / "data" / "corpus.jsonl"
USER = [{"role": "user", "content": "What is the weather in Berlin?"}]
WEATHER_CALL = {"name": "get_weather", "arguments": {"city": "Berlin"}}
REASONING_KEYS = {"vllm": "reasoning", "ollama": "reasoning", "llamacpp": "reasoning_content"}


def corpus(record_id: str) -> dict[str, Any]:
    for line in CORPUS.read_text().splitlines():
        record = json.loads(line)
        if record["id"] == record_id:
            return record
    raise KeyError(record_id)


def client(sim: SimServer, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, **options)


def ask(sim: SimServer, text: str) -> str | None:
    messages = [{"role": "user", "content": text}]
    reply = client(sim).chat.completions.create(model="gpt-oss", messages=messages)
    return reply.choices[0].message.content


@dataclass
class Collected:
    content: str = ""
    reasoning: str = ""
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Any = None
    ids: set[str] = field(default_factory=set)
    created: set[int] = field(default_factory=set)


def collect(stream: Any, reasoning_key: str = "reasoning") -> Collected:
    """Reassemble a streamed reply the way OpenAI clients do (tool calls by index)."""
    got = Collected()
    for chunk in stream:
        got.ids.add(chunk.id)
        got.created.add(chunk.created)
        got.usage = chunk.usage or got.usage
        for choice in chunk.choices:
            delta = choice.delta
            got.content += delta.content or ""
            got.reasoning += (delta.model_extra or {}).get(reasoning_key) or ""
            got.finish_reason = choice.finish_reason or got.finish_reason
            for call in delta.tool_calls or []:
                slot = got.calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += call.id or ""
                slot["name"] += (call.function and call.function.name) or ""
                slot["arguments"] += (call.function and call.function.arguments) or ""
    return got


def raw_events(sim: SimServer, body: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """POST a streaming chat request and split the raw body into SSE events."""
    response = httpx.post(f"{sim.base_url}/chat/completions", json={**body, "stream": True})
    text = response.text
    assert text.endswith("data: [DONE]\n\n")
    return response, text.split("\n\n")[:-1]


# --- non-streaming, every flavor ----------------------------------------------------------


@pytest.mark.parametrize(
    ("flavor", "call_prefix"), [("vllm", "chatcmpl-tool-"), ("ollama", "call_"), ("llamacpp", "")]
)
def test_non_streaming_tool_call(sim, flavor, call_prefix):
    sim.control.flavor(flavor)
    sim.control.script({"reasoning": "Need the weather.", "tool_calls": [WEATHER_CALL]})
    reply = client(sim).chat.completions.create(model="my-model", messages=USER)
    message, choice = reply.choices[0].message, reply.choices[0]
    assert reply.id.startswith("chatcmpl-") and reply.model == "my-model"
    assert choice.finish_reason == "tool_calls"
    assert message.model_extra[REASONING_KEYS[flavor]] == "Need the weather."
    [call] = message.tool_calls
    assert call.id.startswith(call_prefix) and call.type == "function"
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        WEATHER_CALL["arguments"],
    )


def test_vllm_content_reply_and_reasoning_field_options(sim):
    sim.control.script(
        {"content": "Sunny."}, {"reasoning": "r", "content": "c", "reasoning_field": "both"}
    )
    reply = client(sim).chat.completions.create(model="m", messages=USER)
    # vLLM 0.32 (the default) leaves an empty tool_calls list out
    assert (reply.choices[0].message.content, reply.choices[0].message.tool_calls) == (
        "Sunny.",
        None,
    )
    assert reply.choices[0].finish_reason == "stop"
    both = client(sim).chat.completions.create(model="m", messages=USER).choices[0].message
    assert both.model_extra == {"reasoning": "r", "reasoning_content": "r"}
    sim.control.flavor("vllm", reasoning_field="reasoning_content")
    sim.control.script({"reasoning": "old", "content": "c"})
    old = client(sim).chat.completions.create(model="m", messages=USER).choices[0].message
    assert old.model_extra == {"reasoning_content": "old"}


def test_vllm_010_flavor_speaks_the_older_wire_format(sim):
    sim.control.flavor("vllm", vllm_version="0.10")
    sim.control.script({"reasoning": "r", "content": "c"})
    message = client(sim).chat.completions.create(model="m", messages=USER).choices[0].message
    assert (message.tool_calls, message.model_extra) == ([], {"reasoning_content": "r"})


@pytest.mark.parametrize(
    ("version", "finish"), [("0.32", "stop"), ("0.10", "tool_calls")], ids=["0.32", "0.10"]
)
def test_vllm_named_tool_choice_finish_reason_by_version(sim, version, finish):
    sim.control.flavor("vllm", vllm_version=version)
    sim.control.script({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]})
    named = {"type": "function", "function": {"name": "get_weather"}}
    reply = client(sim).chat.completions.create(
        model="m", messages=USER, tools=[WEATHER], tool_choice=named
    )
    assert reply.choices[0].finish_reason == finish
    assert reply.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_vllm_rejects_a_named_tool_that_is_not_offered(sim):
    named = {"type": "function", "function": {"name": "nope"}}
    with pytest.raises(openai.BadRequestError) as caught:
        client(sim).chat.completions.create(
            model="m", messages=USER, tools=[WEATHER], tool_choice=named
        )
    assert caught.value.body["param"] == "tool_choice"
    assert "does not match any of the specified `tools`" in caught.value.body["message"]


def test_vllm_010_without_tool_parser_refuses_tools(sim):
    sim.control.flavor("vllm", vllm_version="0.10", tool_parser=False)
    with pytest.raises(openai.BadRequestError) as caught:
        client(sim).chat.completions.create(model="m", messages=USER, tools=[WEATHER])
    assert "--enable-auto-tool-choice and --tool-call-parser" in caught.value.body["message"]
    assert ask(sim, "no tools, no refusal") == "echo: no tools, no refusal"


def test_vllm_032_without_tool_parser_drops_calls(sim):
    sim.control.flavor("vllm", tool_parser=False)
    sim.control.script({"reasoning": "r", "tool_calls": [{"name": "get_weather", "arguments": {}}]})
    reply = client(sim).chat.completions.create(model="m", messages=USER, tools=[WEATHER])
    choice = reply.choices[0]
    assert (choice.message.tool_calls, choice.finish_reason) == (None, "stop")
    assert choice.model_extra["stop_reason"] == 200012


def test_default_answer_echoes_last_user_message(sim):
    assert ask(sim, "ping") == "echo: ping"


# --- streaming ------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["vllm", "ollama", "llamacpp"])
def test_streamed_tool_call_reassembles(sim, flavor):
    sim.control.flavor(flavor)
    sim.control.script(
        {"reasoning": "Need the weather.", "tool_calls": [WEATHER_CALL], "chunk_size": 3}
    )
    stream = client(sim).chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    got = collect(stream, REASONING_KEYS[flavor])
    assert got.reasoning == "Need the weather."
    assert [(c["name"], json.loads(c["arguments"])) for c in got.calls.values()] == [
        ("get_weather", {"city": "Berlin"})
    ]
    assert got.finish_reason == "tool_calls" and got.usage.total_tokens > 0
    assert len(got.ids) == 1 and len(got.created) == 1


@pytest.mark.parametrize("flavor", ["vllm", "ollama", "llamacpp", "raw"])
def test_streamed_content_and_sse_framing(sim, flavor):
    sim.control.flavor(flavor)
    sim.control.script({"text": "It is sunny in Berlin.", "chunk_size": 4})
    body = {"model": "m", "messages": USER, "stream_options": {"include_usage": True}}
    response, events = raw_events(sim, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert all(event.startswith("data: ") and "\n" not in event for event in events)
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert events[-1] == "data: [DONE]"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert len({c["id"] for c in chunks}) == 1 and len({c["created"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == "It is sunny in Berlin."


def test_vllm_stream_shape(sim):
    sim.control.script({"tool_calls": [WEATHER_CALL], "chunk_size": 5})
    _, events = raw_events(sim, {"model": "m", "messages": USER})
    deltas = [json.loads(e.removeprefix("data: "))["choices"][0] for e in events[:-1]]
    assert deltas[0]["delta"] == {"role": "assistant", "content": ""}
    opening = deltas[1]["delta"]["tool_calls"][0]
    assert opening["function"] == {"name": "get_weather", "arguments": ""}
    assert opening["id"].startswith("chatcmpl-tool-") and opening["index"] == 0
    assert all(set(d["delta"]["tool_calls"][0]) == {"index", "function"} for d in deltas[2:-1])
    assert deltas[-1]["finish_reason"] == "tool_calls" and deltas[-1]["stop_reason"] == 200012


def test_ollama_stream_sends_whole_calls_with_go_escaping(sim):
    sim.control.flavor("ollama")
    junk = {"name": "get_weather<|channel|>commentary", "arguments": '{"city": "Berlin"'}
    sim.control.script({"tool_calls": [junk]})
    _, events = raw_events(sim, {"model": "gpt-oss:20b", "messages": USER})
    assert "get_weather\\u003c|channel|\\u003ecommentary" in events[0]
    chunk = json.loads(events[0].removeprefix("data: "))
    assert chunk["system_fingerprint"] == "fp_ollama"
    [call] = chunk["choices"][0]["delta"]["tool_calls"]
    assert call["function"] == junk and call["index"] == 0 and call["id"].startswith("call_")
    assert (
        json.loads(events[1].removeprefix("data: "))["choices"][0]["finish_reason"] == "tool_calls"
    )


def test_raw_flavor_returns_model_text_verbatim(sim):
    sim.control.flavor("raw")
    sim.control.script({"reasoning": "Think.", "tool_calls": [WEATHER_CALL], "chunk_size": 4})
    stream = client(sim).chat.completions.create(model="m", messages=USER, stream=True)
    got = collect(stream)
    assert got.content == (
        "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>commentary "
        'to=functions.get_weather <|constrain|>json<|message|>{"city":"Berlin"}'
    )
    assert not got.calls and not got.reasoning
    sim.control.script({"reasoning": "Think.", "content": "Hi", "raw_style": "stripped"})
    assert ask(sim, "x") == "analysisThink.assistantfinalHi"


# --- /v1/completions (harmony mode) --------------------------------------------------------

PROMPT = "<|start|>user<|message|>hello<|end|><|start|>assistant"


def test_completions_keep_special_tokens_only_when_asked(sim):
    sim.control.script(
        {"reasoning": "r", "tool_calls": [WEATHER_CALL]}, {"text": "<|channel|>final<|message|>hi"}
    )
    raw = client(sim).completions.create(
        model="m", prompt=PROMPT, max_tokens=200, extra_body={"skip_special_tokens": False}
    )
    choice = raw.choices[0]
    assert choice.text.endswith(
        'to=functions.get_weather <|constrain|>json<|message|>{"city":"Berlin"}'
    )
    assert choice.model_extra["stop_reason"] == 200012
    stripped = client(sim).completions.create(model="m", prompt=PROMPT, max_tokens=200)
    assert stripped.choices[0].text == "finalhi"


def test_completions_without_max_tokens_stop_after_16_tokens(sim):
    sim.control.script({"text": "<|channel|>final<|message|>" + "word " * 40})
    reply = client(sim).completions.create(model="m", prompt=PROMPT)
    choice = reply.choices[0]
    assert (choice.finish_reason, reply.usage.completion_tokens) == ("length", 16)
    assert len(choice.text) == 64


def test_completions_stream_and_stop_strings(sim):
    sim.control.script({"text": "<|channel|>final<|message|>one two<|end|>junk", "chunk_size": 3})
    keep_special = {"skip_special_tokens": False}
    stream = client(sim).completions.create(
        model="m", prompt=PROMPT, stream=True, stop=["<|end|>"], extra_body=keep_special
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks) == "<|channel|>final<|message|>one two"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].choices[0].model_extra["stop_reason"] == "<|end|>"
    assert ask(sim, "x") == "echo: x"  # the completions call consumed the only step


# --- faults ---------------------------------------------------------------------------------


def test_error_statuses_raise_sdk_errors(sim):
    sim.control.script(
        {"fault": "error500"},
        {"fault": "status", "status": 400, "message": "bad tools", "headers": {"x-sim": "1"}},
    )
    with pytest.raises(openai.InternalServerError) as server_error:
        ask(sim, "x")
    assert server_error.value.body["message"] == "Simulated upstream failure"
    with pytest.raises(openai.BadRequestError) as bad_request:
        ask(sim, "x")
    assert bad_request.value.body["message"] == "bad tools"
    assert bad_request.value.response.headers["x-sim"] == "1"


def test_hang_times_out_and_server_stays_usable(sim):
    sim.control.script({"fault": "hang"})
    with pytest.raises(openai.APITimeoutError):
        client(sim, timeout=0.3).chat.completions.create(model="m", messages=USER)
    assert ask(sim, "still there?") == "echo: still there?"


def test_reset_and_drop_are_connection_errors(sim):
    sim.control.script({"fault": "reset"}, {"fault": "drop"})
    for _ in range(2):
        with pytest.raises(openai.APIConnectionError):
            ask(sim, "x")


def test_midstream_faults(sim):
    sim.control.script(
        {"content": "a long answer", "chunk_size": 2, "fault": "drop", "fault_after": 3},
        {"content": "a long answer", "chunk_size": 2, "fault": "error_event", "message": "boom"},
        {"content": "a long answer", "chunk_size": 2, "fault": "stall", "fault_after": 2},
    )
    with pytest.raises((openai.APIConnectionError, httpx.TransportError)):
        collect(client(sim).chat.completions.create(model="m", messages=USER, stream=True))
    with pytest.raises(openai.APIError, match="boom"):
        collect(client(sim).chat.completions.create(model="m", messages=USER, stream=True))
    slow = client(sim, timeout=0.3).chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises((openai.APITimeoutError, httpx.ReadTimeout)):
        collect(slow)


def test_delay(sim):
    sim.control.script({"content": "late", "delay": 5}, {"content": "on time"})
    with pytest.raises(openai.APITimeoutError):
        client(sim, timeout=0.5).chat.completions.create(model="m", messages=USER)
    assert ask(sim, "x") == "on time"  # the delayed step was used up by the timed-out call


# --- control API ----------------------------------------------------------------------------


def test_rules_win_over_queue_and_queue_over_default(sim):
    sim.control.script({"content": "queued"})
    sim.control.rule("[weather]", {"content": "ruled"})
    sim.control.rule("[once]", {"content": "only once"}, times=1)
    assert ask(sim, "[weather] please") == "ruled"
    assert ask(sim, "[once]") == "only once"
    assert ask(sim, "[once]") == "queued"
    assert ask(sim, "[once]") == "echo: [once]"
    assert ask(sim, "again [weather]") == "ruled"


def test_records_what_was_sent(sim):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    history = [
        *USER,
        {"role": "assistant", "content": "", "reasoning": "Call it.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "20 C"},
    ]
    client(sim).chat.completions.create(
        model="m", messages=history, tools=tools, stop=["<|call|>"], max_tokens=64
    )
    [request] = sim.control.requests("/v1/chat/completions")
    body = request["body"]
    assert body["tools"] == tools and body["stop"] == ["<|call|>"] and body["max_tokens"] == 64
    assert body["messages"][1]["reasoning"] == "Call it."
    assert request["headers"]["authorization"] == "Bearer sk-test"


def test_bad_scripts_and_requests_are_rejected(sim):
    with pytest.raises(SimControlError, match="contnet"):
        sim.control.script({"contnet": "typo"})
    with pytest.raises(openai.BadRequestError, match="only be defined when `stream=True`"):
        client(sim).chat.completions.create(
            model="m", messages=USER, stream_options={"include_usage": True}
        )
    sim.control.flavor("vllm", served_model="openai/gpt-oss-20b")
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        ask(sim, "x")


def test_server_endpoints_per_flavor(sim):
    root = sim.base_url.removesuffix("/v1")
    assert httpx.get(f"{root}/health").status_code == 200
    assert httpx.get(f"{sim.base_url}/models").json()["data"][0]["owned_by"] == "vllm"
    sim.control.flavor("ollama")
    assert httpx.get(root).text == "Ollama is running"
    assert "version" in httpx.get(f"{root}/api/version").json()


# --- verbatim corpus replay -----------------------------------------------------------------


def test_replays_recorded_llamacpp_stream(sim):
    lines = corpus("C27b")["input"]
    sim.control.script({"sse": lines})
    _, events = raw_events(sim, {"model": "m", "messages": USER})
    assert events == [*lines, "data: [DONE]"]
    sim.control.script({"sse": lines})
    got = collect(client(sim).chat.completions.create(model="m", messages=USER, stream=True))
    expected = {"id": "tNkZIM2wWGCzRoFvK6X0TdhHhAYj6fVY", "name": "weather"}
    assert got.calls == {0: {**expected, "arguments": '{"location":"Florence"}'}}
    assert got.finish_reason == "tool_calls"


def test_replays_recorded_ollama_response(sim):
    record = corpus("C01")
    sim.control.script({"response": record["input"]})
    reply = client(sim).chat.completions.create(model="gpt-oss:120b", messages=USER)
    assert reply.model_dump(exclude_unset=True) == record["input"]
