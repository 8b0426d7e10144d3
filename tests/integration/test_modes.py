"""Tool-call fidelity per TOOL_CALL_MODE and per upstream server, end to end: what the model
server returns (garbled, repaired, raw harmony, Hermes text) -> the client's `tool_calls`,
content and reasoning, streamed and not, and what the service sent upstream."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.tooldefs import WEATHER
from tests.upstream_sim.fixtures import SimServer

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
ASK = [{"role": "user", "content": "Weather in Paris?"}]
PARIS = {"city": "Paris"}
ERROR_TAIL = "\nFix the call and try again, or answer without the tool."
STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


@dataclass
class Reply:
    """One chat completion as the client sees it, streamed or not."""

    content: str | None
    reasoning: str | None
    calls: list[tuple[str, Any]]
    ids: list[str]
    finish_reason: str | None
    session: str
    content_deltas: list[str] = field(default_factory=list)


def chat(
    svc: Service,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    session: str | None = None,
    tools: list[dict[str, Any]] | None = None,
    **body: Any,
) -> Reply:
    """Send one request through the OpenAI SDK; arguments are parsed (and so must be JSON)."""
    headers = {"X-Session-ID": session} if session else {}
    if tools is not None:
        body["tools"] = tools
    raw = svc.client().chat.completions.with_raw_response.create(
        model="m", messages=messages, stream=stream, extra_headers=headers, **body
    )
    session_id = raw.headers["x-session-id"]
    if not stream:
        completion = raw.parse()
        choice = completion.choices[0]
        message = choice.message
        calls = message.tool_calls or []
        return Reply(
            message.content,
            (message.model_extra or {}).get("reasoning"),
            [(c.function.name, json.loads(c.function.arguments)) for c in calls],
            [c.id for c in calls],
            choice.finish_reason,
            session_id,
        )
    chunks = [c for c in raw.parse() if c.choices]
    deltas = [c.choices[0].delta for c in chunks]
    content = [d.content for d in deltas if d.content]
    reasoning = "".join((d.model_extra or {}).get("reasoning") or "" for d in deltas)
    names: dict[int, str] = {}
    ids: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for delta in deltas:
        for part in delta.tool_calls or []:
            if part.id:
                ids[part.index] = part.id
            if part.function and part.function.name:
                names[part.index] = part.function.name
            if part.function and part.function.arguments:
                arguments[part.index] = arguments.get(part.index, "") + part.function.arguments
    finishes = [c.choices[0].finish_reason for c in chunks]
    assert all(f is None for f in finishes[:-1]), finishes
    return Reply(
        "".join(content) or None,
        reasoning or None,
        [(names[i], json.loads(arguments.get(i) or "{}")) for i in sorted(names)],
        [ids[i] for i in sorted(ids)],
        finishes[-1],
        session_id,
        content,
    )


def assert_no_markup(reply: Reply) -> None:
    """No harmony special token ever reaches the client's content, whole or in a delta."""
    assert "<|" not in (reply.content or "")
    assert not [d for d in reply.content_deltas if "<|" in d or "|>" in d]


def offered(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


def start_service(sim_server: SimServer, factory: pytest.TempPathFactory, **env: str) -> Service:
    workdir = factory.mktemp("service")
    return Service(service_env(sim_server.base_url, workdir, **env), workdir).start()


@pytest.fixture(scope="module")
def native_service(sim_server: SimServer, tmp_path_factory) -> Iterator[Service]:
    svc = start_service(sim_server, tmp_path_factory, TOOL_CALL_MODE="native")
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def harmony_service(sim_server: SimServer, tmp_path_factory) -> Iterator[Service]:
    svc = start_service(sim_server, tmp_path_factory, TOOL_CALL_MODE="harmony")
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def prompt_service(sim_server: SimServer, tmp_path_factory) -> Iterator[Service]:
    svc = start_service(sim_server, tmp_path_factory, TOOL_CALL_MODE="prompt")
    yield svc
    svc.stop()


# ---------------------------------------------------------------------------------------------
# auto mode (the default), vLLM flavor


@STREAMED
@pytest.mark.parametrize(
    "name",
    ["get_weather<|channel|>commentary", "functions.get_weather", "assistant<|channel|>analysis"],
)
def test_auto_garbled_native_names_are_cleaned(
    service: Service, sim: SimServer, stream: bool, name: str
) -> None:
    sim.control.script(
        {"reasoning": "Need the weather.", "tool_calls": [{"name": name, "arguments": PARIS}]}
    )
    reply = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.content is None
    assert reply.reasoning == "Need the weather."
    assert len(reply.ids) == 1 and reply.ids[0]
    (body,) = sim.control.bodies(CHAT)
    assert body["stream"] is stream
    assert offered(body)[0] == "get_weather"
    assert body["messages"][-1] == ASK[0]


@STREAMED
@pytest.mark.parametrize(
    "arguments",
    ['{"city": "Paris"}]', "{'city': 'Paris'}", '[{"city": "Paris"}]', '{"city": "Paris"'],
    ids=["trailing-bracket", "single-quotes", "array-wrapped", "unclosed"],
)
def test_auto_repairable_arguments(
    service: Service, sim: SimServer, stream: bool, arguments: str
) -> None:
    sim.control.script({"tool_calls": [{"name": "get_weather", "arguments": arguments}]})
    reply = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.content is None


@STREAMED
@pytest.mark.parametrize(
    "text",
    [
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        '[{ "name": "get_weather", "parameters": { "city": "Paris" } }]',
        '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
    ],
    ids=["envelope", "array-parameters", "fenced"],
)
def test_auto_call_left_as_json_in_content_is_recovered(
    service: Service, sim: SimServer, stream: bool, text: str
) -> None:
    """vLLM without a tool parser: the call is the content, `tool_calls: []`."""
    sim.control.script({"reasoning": "Call the tool.", "content": text, "chunk_size": 5})
    reply = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.content is None
    assert reply.content_deltas == []
    assert reply.reasoning == "Call the tool."


@STREAMED
@pytest.mark.parametrize(
    "text",
    [
        'Example call: {"name": "get_weather", "arguments": {"city": "Paris"}} - that is all.',
        '{"name": "get_weather", "arguments": {"city": "Paris"}} is how you would call it.',
        '{"name": "Paris", "population": 2100000}',
    ],
    ids=["after-prose", "before-prose", "ordinary-json"],
)
def test_auto_json_inside_prose_stays_content(
    service: Service, sim: SimServer, stream: bool, text: str
) -> None:
    """Only JSON that is the whole content is a call; streamed content says the same."""
    sim.control.script({"content": text, "chunk_size": 5})
    reply = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == []
    assert reply.content == text
    assert reply.finish_reason == "stop"


@STREAMED
@pytest.mark.parametrize(
    "text",
    [
        "<|channel|>analysis<|message|>The user greets me.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello! How can I help you today?",
        "analysisThe user greets me.assistantfinalHello! How can I help you today?",
    ],
    ids=["special", "stripped"],
)
def test_auto_raw_harmony_answer_is_split(
    service: Service, sim: SimServer, stream: bool, text: str
) -> None:
    sim.control.flavor("raw", chunk_size=3)
    sim.control.script({"text": text})
    reply = chat(service, [{"role": "user", "content": "hi"}], stream=stream, tools=[WEATHER])
    assert reply.content == "Hello! How can I help you today?"
    assert reply.reasoning == "The user greets me."
    assert reply.calls == []
    assert reply.finish_reason == "stop"
    assert_no_markup(reply)
    assert not any("assistantfinal" in d or "analysis" in d for d in reply.content_deltas)


@STREAMED
@pytest.mark.parametrize("style", ["special", "stripped"])
@pytest.mark.parametrize("preamble", [None, "Let me check the weather."], ids=["bare", "preamble"])
def test_auto_raw_harmony_call_becomes_tool_call(
    service: Service, sim: SimServer, stream: bool, style: str, preamble: str | None
) -> None:
    """A server without a parser returns the whole harmony text, the call included."""
    sim.control.flavor("raw", raw_style=style, chunk_size=4)
    sim.control.script(
        {
            "reasoning": "Need the weather.",
            "content": preamble,
            "tool_calls": [{"name": "get_weather", "arguments": PARIS}],
        }
    )
    reply = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.reasoning == "Need the weather."
    assert reply.content == preamble
    assert_no_markup(reply)


@STREAMED
def test_auto_preamble_and_native_call(service: Service, sim: SimServer, stream: bool) -> None:
    sim.control.script(
        {
            "reasoning": "Need the weather.",
            "content": "Let me check the weather.",
            "tool_calls": [{"name": "get_weather", "arguments": PARIS}],
            "chunk_size": 3,
        }
    )
    reply = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert reply.content == "Let me check the weather."
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.reasoning == "Need the weather."


@STREAMED
def test_auto_tool_result_round_trip(service: Service, sim: SimServer, stream: bool) -> None:
    """The answer to a tool result starts clean, although the call had a preamble."""
    sim.control.script(
        {
            "reasoning": "Need the weather.",
            "content": "Let me check.",
            "tool_calls": [{"name": "get_weather", "arguments": PARIS}],
        },
        {"reasoning": "It is sunny.", "content": "Sunny in Paris, 21 C."},
    )
    first = chat(service, ASK, stream=stream, tools=[WEATHER])
    assert first.content == "Let me check."
    result = {"role": "tool", "tool_call_id": first.ids[0], "content": "sunny, 21 C"}
    second = chat(service, [result], stream=stream, session=first.session, tools=[WEATHER])
    assert second.content == "Sunny in Paris, 21 C."
    assert second.calls == [] and second.finish_reason == "stop"
    assert second.reasoning == "It is sunny."
    messages = sim.control.bodies(CHAT)[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assistant = messages[2]
    assert assistant["reasoning"] == "Need the weather."
    assert assistant["content"] == "Let me check."
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["get_weather"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == PARIS
    assert assistant["tool_calls"][0]["id"] == first.ids[0]
    assert messages[3] == result


# ---------------------------------------------------------------------------------------------
# native mode


@STREAMED
def test_native_still_sanitises_names_and_arguments(
    native_service: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script(
        {
            "tool_calls": [
                {"name": "get_weather<|channel|>commentary", "arguments": "{'city': 'Paris'}]"}
            ]
        }
    )
    reply = chat(native_service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.content is None


@STREAMED
def test_native_json_in_content_stays_content(
    native_service: Service, sim: SimServer, stream: bool
) -> None:
    text = json.dumps({"name": "get_weather", "arguments": PARIS})
    sim.control.script({"reasoning": "Hmm.", "content": text})
    reply = chat(native_service, ASK, stream=stream, tools=[WEATHER])
    assert reply.calls == []
    assert reply.content == text
    assert reply.reasoning == "Hmm."
    assert reply.finish_reason == "stop"
    (body,) = sim.control.bodies(CHAT)
    assert offered(body)[0] == "get_weather"


# ---------------------------------------------------------------------------------------------
# harmony mode: our own prompt, /v1/completions, raw text parsed

HARMONY_CALL = (
    "<|channel|>analysis<|message|>Need the weather.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city":"Paris"}<|call|>'
)


def _assert_harmony_request(body: dict[str, Any], stream: bool) -> str:
    prompt = body["prompt"]
    assert prompt.startswith("<|start|>system<|message|>")
    assert prompt.endswith("<|start|>assistant")
    assert "namespace functions {" in prompt
    assert "type get_weather = (_: {" in prompt and "city: string," in prompt
    assert "// Current weather for a city" in prompt
    assert body["skip_special_tokens"] is False
    assert body["stop"] == ["<|call|>", "<|return|>"]
    assert body["model"] == "openai/gpt-oss-20b"
    assert body.get("stream", False) is stream
    assert "messages" not in body and "tools" not in body
    return prompt


@STREAMED
def test_harmony_call_and_tool_result(
    harmony_service: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script(
        {"text": HARMONY_CALL, "chunk_size": 5},
        {
            "text": "<|channel|>analysis<|message|>Sunny it is.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>It is sunny in Paris.<|return|>",
            "chunk_size": 5,
        },
    )
    first = chat(harmony_service, ASK, stream=stream, tools=[WEATHER])
    assert first.calls == [("get_weather", PARIS)]
    assert first.finish_reason == "tool_calls"
    assert first.reasoning == "Need the weather."
    assert first.content is None
    (body,) = sim.control.bodies(COMPLETIONS)
    prompt = _assert_harmony_request(body, stream)
    assert prompt.endswith("<|start|>user<|message|>Weather in Paris?<|end|><|start|>assistant")
    assert not sim.control.bodies(CHAT)

    result = {"role": "tool", "tool_call_id": first.ids[0], "content": "sunny, 21 C"}
    second = chat(harmony_service, [result], stream=stream, session=first.session, tools=[WEATHER])
    assert second.content == "It is sunny in Paris."
    assert second.reasoning == "Sunny it is."
    assert second.calls == [] and second.finish_reason == "stop"
    assert_no_markup(second)
    prompt = _assert_harmony_request(sim.control.bodies(COMPLETIONS)[-1], stream)
    tail = re.search(
        r"<\|start\|>user<\|message\|>Weather in Paris\?<\|end\|>"
        r"<\|start\|>assistant<\|channel\|>analysis<\|message\|>Need the weather\.<\|end\|>"
        r"<\|start\|>assistant to=functions\.get_weather<\|channel\|>commentary json"
        r"<\|message\|>(?P<args>\{.*?\})<\|call\|>"
        r"<\|start\|>functions\.get_weather to=assistant<\|channel\|>commentary"
        r"<\|message\|>sunny, 21 C<\|end\|><\|start\|>assistant$",
        prompt,
    )
    assert tail, prompt
    assert json.loads(tail["args"]) == PARIS


@STREAMED
def test_harmony_server_tool_loop(harmony_service: Service, sim: SimServer, stream: bool) -> None:
    sim.control.script(
        {
            "text": "<|channel|>analysis<|message|>Use the calculator.<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.calculator <|constrain|>json"
            '<|message|>{"expression":"6*7"}<|call|>'
        },
        {
            "text": "<|channel|>analysis<|message|>Got 42.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>6 × 7 = 42."
        },
    )
    reply = chat(harmony_service, [{"role": "user", "content": "6*7?"}], stream=stream)
    assert reply.content == "6 × 7 = 42."
    assert reply.calls == [] and reply.finish_reason == "stop"
    assert reply.reasoning == "Use the calculator.\nGot 42."
    assert_no_markup(reply)
    first, second = sim.control.bodies(COMPLETIONS)
    assert "type calculator = (_: {" in first["prompt"]
    loop = re.search(
        r"<\|start\|>assistant<\|channel\|>analysis<\|message\|>Use the calculator\.<\|end\|>"
        r"<\|start\|>assistant to=functions\.calculator<\|channel\|>commentary json"
        r"<\|message\|>(?P<args>\{.*?\})<\|call\|>"
        r"<\|start\|>functions\.calculator to=assistant<\|channel\|>commentary"
        r"<\|message\|>42<\|end\|><\|start\|>assistant$",
        second["prompt"],
    )
    assert loop, second["prompt"]
    assert json.loads(loop["args"]) == {"expression": "6*7"}


# ---------------------------------------------------------------------------------------------
# prompt mode: tools described in the system prompt, Hermes `<tool_call>` text


@STREAMED
def test_prompt_mode_round_trip(prompt_service: Service, sim: SimServer, stream: bool) -> None:
    call_text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    sim.control.script(
        {"reasoning": "Use the tool.", "content": call_text, "chunk_size": 4},
        {"content": "It is sunny in Paris."},
    )
    first = chat(prompt_service, ASK, stream=stream, tools=[WEATHER], metadata={"tools": ""})
    assert first.calls == [("get_weather", PARIS)]
    assert first.finish_reason == "tool_calls"
    assert first.content is None
    assert first.content_deltas == []
    assert first.reasoning == "Use the tool."
    (body,) = sim.control.bodies(CHAT)
    assert "tools" not in body and "tool_choice" not in body
    system, user = body["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("You are a helpful assistant.")
    tools_block = re.search(r"<tools>\n(.*)\n</tools>", system["content"], re.DOTALL)
    assert tools_block, system["content"]
    assert [json.loads(line) for line in tools_block[1].splitlines()] == [WEATHER]
    assert "<tool_call>" in system["content"]
    assert user == ASK[0]

    result = {"role": "tool", "tool_call_id": first.ids[0], "content": "sunny, 21 C"}
    second = chat(
        prompt_service,
        [result],
        stream=stream,
        session=first.session,
        tools=[WEATHER],
        metadata={"tools": ""},
    )
    assert second.content == "It is sunny in Paris."
    assert second.calls == [] and second.finish_reason == "stop"
    messages = sim.control.bodies(CHAT)[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert all(set(m) == {"role", "content"} for m in messages)
    call = re.fullmatch(r"<tool_call>\n(.*)\n</tool_call>", messages[2]["content"], re.DOTALL)
    assert call, messages[2]
    assert json.loads(call[1]) == {"name": "get_weather", "arguments": PARIS}
    assert messages[3]["content"] == "<tool_response>\nsunny, 21 C\n</tool_response>"


# ---------------------------------------------------------------------------------------------
# reasoning in and out, per upstream server

REASONING_FIELD = {"vllm": "reasoning", "ollama": "reasoning", "llamacpp": "reasoning_content"}


@pytest.fixture(scope="module", params=["vllm", "ollama", "llamacpp"])
def server_kind(request: pytest.FixtureRequest, sim_server: SimServer, tmp_path_factory):
    if request.param == "vllm":
        yield request.param, request.getfixturevalue("service")
        return
    svc = start_service(sim_server, tmp_path_factory, LLM_SERVER=request.param)
    yield request.param, svc
    svc.stop()


@STREAMED
def test_reasoning_is_read_and_sent_back_in_the_servers_field(
    server_kind: tuple[str, Service], sim: SimServer, stream: bool
) -> None:
    kind, svc = server_kind
    sim.control.flavor(kind, chunk_size=4)
    sim.control.script(
        {
            "reasoning": "Use the calculator.",
            "tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}],
        },
        {"reasoning": "Got 42.", "content": "6 × 7 = 42."},
    )
    reply = chat(svc, [{"role": "user", "content": "6*7?"}], stream=stream)
    assert reply.content == "6 × 7 = 42."
    assert reply.reasoning == "Use the calculator.\nGot 42."
    assert reply.calls == [] and reply.finish_reason == "stop"
    first, second = sim.control.bodies(CHAT)
    assert first["stream"] is stream
    assistant, tool = second["messages"][-2:]
    assert assistant["role"] == "assistant"
    assert assistant[REASONING_FIELD[kind]] == "Use the calculator."
    other = {"reasoning", "reasoning_content"} - {REASONING_FIELD[kind]}
    assert not other & set(assistant)
    assert assistant["tool_calls"][0]["function"]["name"] == "calculator"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"expression": "6*7"}
    assert tool == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": "42",
    }


# ---------------------------------------------------------------------------------------------
# unusable calls: the model is told what was wrong, bounded by TOOL_CALL_RETRIES (2)


@STREAMED
@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (
            {"name": "lookup_stock", "arguments": {"symbol": "ACME"}},
            "Unknown tool 'lookup_stock'. Available tools: get_weather.",
        ),
        (
            {"name": "get_weather", "arguments": {"city": 42}},
            "Invalid arguments for tool 'get_weather': city: 42 is not of type 'string'. "
            "Expected arguments: {city: string (required)}.",
        ),
        (
            {"name": "get_weather", "arguments": "[1, 2"},
            "The arguments for tool 'get_weather' are not a JSON object: [1, 2. "
            "Send a JSON object matching {city: string (required)}.",
        ),
    ],
    ids=["unknown-name", "schema-invalid", "not-an-object"],
)
def test_unusable_call_is_explained_and_corrected(
    service: Service, sim: SimServer, stream: bool, bad: dict[str, Any], error: str
) -> None:
    sim.control.script(
        {"reasoning": "First try.", "tool_calls": [bad]},
        {"reasoning": "Fix it.", "tool_calls": [{"name": "get_weather", "arguments": PARIS}]},
    )
    reply = chat(service, ASK, stream=stream, tools=[WEATHER], metadata={"tools": ""})
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert reply.content is None
    first, second = sim.control.bodies(CHAT)
    assert offered(first) == offered(second) == ["get_weather"]
    assistant, tool = second["messages"][-2:]
    assert assistant["reasoning"] == "First try."
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == [bad["name"]]
    assert tool == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": f"Error: {error}{ERROR_TAIL}",
    }
    history = service.http().get(f"/v1/sessions/{reply.session}").json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert history[2]["content"] == f"Error: {error}{ERROR_TAIL}"


@STREAMED
def test_unusable_calls_past_the_retry_bound_end_the_turn(
    service: Service, sim: SimServer, stream: bool
) -> None:
    bad = {"tool_calls": [{"name": "lookup_stock", "arguments": {"symbol": "ACME"}}]}
    sim.control.script(bad, bad, bad, {"content": "never asked"})
    reply = chat(service, ASK, stream=stream, tools=[WEATHER], metadata={"tools": ""})
    assert reply.content == (
        "I tried to call a tool but could not produce a valid call after 3 attempts: "
        "lookup_stock: Unknown tool 'lookup_stock'. Available tools: get_weather."
    )
    assert reply.calls == []
    assert reply.finish_reason == "stop"
    bodies = sim.control.bodies(CHAT)
    assert len(bodies) == 3
    assert [m["role"] for m in bodies[-1]["messages"][-4:]] == [
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert sim.control.state()["queued"] == 1


@STREAMED
def test_step_limit_message_reaches_the_client(
    service: Service, sim: SimServer, stream: bool
) -> None:
    call = {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}
    sim.control.script(*[call] * 8, {"content": "never asked"})
    reply = chat(service, [{"role": "user", "content": "loop"}], stream=stream)
    assert reply.content == (
        "I stopped after 8 model calls in this turn without reaching an answer "
        "(the limit is MAX_STEPS=8). Ask me to continue, or narrow the request."
    )
    assert reply.calls == [] and reply.finish_reason == "stop"
    assert len(sim.control.bodies(CHAT)) == 8
