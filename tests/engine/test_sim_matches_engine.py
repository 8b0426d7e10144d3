"""The simulator's vLLM flavour against the real engine: the same requests, the same shapes.

Each case goes to vLLM first; the simulator is then scripted with what vLLM answered
(reasoning, content, calls) and sent the very same request. Bodies must agree key for key
and value for value, except ids, timestamps, token counts and the fingerprint; streams must
agree chunk kind for chunk kind (vLLM streams a token per chunk, the simulator by size, so
runs of the same kind of chunk count as one) and in the text they add up to.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.engine.conftest import ENGINE, MODEL
from tests.engine.engine import Engine
from tests.engine.scripts import prompt_for
from tests.integration.tooldefs import WEATHER
from tests.upstream_sim.fixtures import SimServer

pytestmark = ENGINE

VARYING = {"id", "created", "system_fingerprint", "prompt_tokens", "completion_tokens",
           "total_tokens", "reasoning_tokens"}  # fmt: skip
NAMED = {"type": "function", "function": {"name": "get_weather"}}
CASES = {
    "answer": {"messages": "answer"},
    "answer-with-tools": {"messages": "answer", "tools": [WEATHER]},
    "call": {"messages": "call", "tools": [WEATHER]},
    "preamble": {"messages": "preamble", "tools": [WEATHER]},
    "required": {"messages": "call", "tools": [WEATHER], "tool_choice": "required"},
    "named": {"messages": "call", "tools": [WEATHER], "tool_choice": NAMED},
}


def request_body(case: str, stream: bool) -> dict[str, Any]:
    spec = dict(CASES[case])
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt_for(spec.pop("messages"))}],
    }
    body.update(spec)
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def post(base_url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{base_url}/chat/completions", json=body, timeout=120)


def events(response: httpx.Response) -> list[Any]:
    lines = [
        line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")
    ]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def step_from(reply: dict[str, Any]) -> dict[str, Any]:
    """The simulator step that says what vLLM said."""
    message = reply["choices"][0]["message"]
    calls = [
        {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
        for c in message.get("tool_calls") or []
    ]
    return {
        "reasoning": message.get("reasoning"),
        "content": message["content"],
        "tool_calls": calls,
    }


def shape(value: Any, key: str = "") -> Any:
    if key in VARYING or (key == "id" and isinstance(value, str)):
        return type(value).__name__
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value


def chunk_kind(chunk: Any) -> Any:
    """A chunk with its text replaced by "text" and its ids by types."""
    if chunk == "[DONE]":
        return chunk
    kind = shape(chunk)
    for choice in kind.get("choices", []):
        if choice.get("text"):
            choice["text"] = "text"
        delta = choice.get("delta", {})
        for field in ("content", "reasoning"):
            if delta.get(field):
                delta[field] = "text"
        for call in delta.get("tool_calls", []):
            if call.get("id"):
                call["id"] = "str"
            if call.get("function", {}).get("arguments"):
                call["function"]["arguments"] = "text"
    return kind


def collapsed(chunks: list[Any]) -> list[Any]:
    kinds: list[Any] = []
    for chunk in chunks:
        kind = chunk_kind(chunk)
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return kinds


def streamed_text(chunks: list[Any]) -> dict[str, str]:
    text = {"content": "", "reasoning": "", "arguments": ""}
    for chunk in chunks:
        for choice in chunk.get("choices", []) if isinstance(chunk, dict) else []:
            delta = choice["delta"]
            text["content"] += delta.get("content") or ""
            text["reasoning"] += delta.get("reasoning") or ""
            for call in delta.get("tool_calls", []):
                text["arguments"] += call.get("function", {}).get("arguments") or ""
    return text


@pytest.mark.parametrize("case", list(CASES))
def test_simulator_body_matches_vllm(engine: Engine, sim: SimServer, case: str) -> None:
    real = post(engine.base_url, request_body(case, stream=False))
    assert real.status_code == 200, real.text
    sim.control.script(step_from(real.json()))
    simulated = post(sim.base_url, request_body(case, stream=False))
    assert shape(simulated.json()) == shape(real.json())


@pytest.mark.parametrize("case", list(CASES))
def test_simulator_stream_matches_vllm(engine: Engine, sim: SimServer, case: str) -> None:
    whole = post(engine.base_url, request_body(case, stream=False)).json()
    real = events(post(engine.base_url, request_body(case, stream=True)))
    sim.control.script(step_from(whole))
    simulated = events(post(sim.base_url, request_body(case, stream=True)))
    assert collapsed(simulated) == collapsed(real)
    assert streamed_text(simulated) == streamed_text(real)


def test_simulator_refuses_a_bad_request_like_vllm(engine: Engine, sim: SimServer) -> None:
    body = {**request_body("answer", stream=False), "stream_options": {"include_usage": True}}
    real, simulated = post(engine.base_url, body), post(sim.base_url, body)
    assert (simulated.status_code, shape(simulated.json())) == (
        real.status_code,
        shape(real.json()),
    )


def completion_body(script: str, stream: bool, max_tokens: int | None = 400) -> dict[str, Any]:
    """What the agent's harmony mode sends to /v1/completions."""
    prompt = f"<|start|>user<|message|>{prompt_for(script)}<|end|><|start|>assistant"
    body: dict[str, Any] = {"model": MODEL, "prompt": prompt, "skip_special_tokens": False,
                            "stop": ["<|call|>", "<|return|>"]}  # fmt: skip
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def complete(base_url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{base_url}/completions", json=body, timeout=120)


@pytest.mark.parametrize("script", ["answer", "call"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_simulator_completion_matches_vllm(
    engine: Engine, sim: SimServer, script: str, stream: bool
) -> None:
    whole = complete(engine.base_url, completion_body(script, stream=False)).json()
    choice = whole["choices"][0]
    sim.control.script({"text": choice["text"], "stop_reason": choice["stop_reason"]})
    body = completion_body(script, stream)
    real, simulated = complete(engine.base_url, body), complete(sim.base_url, body)
    if not stream:
        assert shape(simulated.json()) == shape(real.json())
        return
    assert collapsed(events(simulated)) == collapsed(events(real))
    text = [c["choices"][0]["text"] for c in events(real) if isinstance(c, dict) and c["choices"]]
    simulated_text = [
        c["choices"][0]["text"] for c in events(simulated) if isinstance(c, dict) and c["choices"]
    ]
    assert "".join(simulated_text) == "".join(text)


def test_simulator_completion_stops_at_16_tokens_without_max_tokens(
    engine: Engine, sim: SimServer
) -> None:
    """vLLM keeps OpenAI's legacy default of 16 completion tokens (null too)."""
    body = completion_body("answer", stream=False, max_tokens=None)
    real = complete(engine.base_url, body).json()["choices"][0]
    assert (real["finish_reason"], real["text"].count("<|")) == ("length", 5)
    sim.control.script({"text": "<|channel|>analysis<|message|>" + "word " * 40})
    simulated = complete(sim.base_url, body).json()
    assert simulated["choices"][0]["finish_reason"] == "length"
    assert simulated["usage"]["completion_tokens"] == 16
