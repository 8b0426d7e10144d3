"""Every corpus record with a known parse, replayed by the simulator to an OpenAI SDK client
through the running service, streamed and not, must come out as the corpus expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus.jsonl"
RECORDS = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
KNOWN = [r for r in RECORDS if r["expected"] is not None]

# String "responses" quote fields of a response (Python reprs, fragments); rebuilt from
# the quoted fields as the server that produced them would send them.
REBUILT = {
    "C28": {
        "tool_calls": [
            {
                "name": "get_weather",
                "arguments": '{\n  "location": "San Francisco, CA",\n  "unit": "fahrenheit"\n}',
            }
        ]
    },
    "C29": {
        "tool_calls": [
            {"name": "get_weather", "arguments": '{\n  "city": "Beijing",\n  "unit": "C"\n}'}
        ]
    },
    "C37": {"reasoning_field": "reasoning_content"},
    "C38": {},
}


def _from_message(message: dict[str, Any], flavor: str) -> dict[str, Any]:
    calls = [
        {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
        for c in message.get("tool_calls") or []
    ]
    step: dict[str, Any] = {"flavor": flavor, "content": message.get("content") or None}
    reasoning = message.get("reasoning") or message.get("reasoning_content")
    if reasoning:
        step["reasoning"] = reasoning
    if calls:
        step["tool_calls"] = calls
    return {k: v for k, v in step.items() if v is not None}


def _from_sse(lines: list[str]) -> dict[str, Any]:
    message: dict[str, Any] = {"content": "", "reasoning_content": "", "tool_calls": []}
    for line in lines:
        delta = json.loads(line.removeprefix("data: "))["choices"][0]["delta"]
        message["content"] += delta.get("content") or ""
        message["reasoning_content"] += delta.get("reasoning_content") or ""
        for call in delta.get("tool_calls") or []:
            if call.get("id"):
                message["tool_calls"].append({"function": {"name": "", "arguments": ""}})
            function = message["tool_calls"][call["index"]]["function"]
            function["name"] += call["function"].get("name") or ""
            function["arguments"] += call["function"].get("arguments") or ""
    return message


def _flavor(record: dict[str, Any]) -> str:
    return {"ollama": "ollama", "llama.cpp": "llamacpp"}.get(record["server"], "vllm")


def replay_step(record: dict[str, Any], stream: bool) -> dict[str, Any]:
    """The simulator step that makes the upstream say what the record quotes."""
    surface, data = record["surface"], record["input"]
    if surface == "raw":
        return {"flavor": "raw", "text": data, "chunk_size": 3}
    if surface == "content":
        return {"content": data, "chunk_size": 3}
    if surface == "tool_call":  # as quoted: its arguments alone, or a name line then them
        name, arguments = ("", data) if data.lstrip().startswith("{") else data.split("\n", 1)
        return {"tool_calls": [{"name": name, "arguments": arguments}]}
    if surface == "stream" and not data[0].startswith("data: "):
        return {"content_chunks": data} if stream else {"content": "".join(data)}
    if surface == "stream":
        return {"sse": data} if stream else _from_message(_from_sse(data), _flavor(record))
    if isinstance(data, dict):
        message = data["choices"][0]["message"]
        return _from_message(message, _flavor(record)) if stream else {"response": data}
    expected = record["expected"]
    step = {"content": expected["content"], "reasoning": expected["reasoning"]}
    step.update({k: v for k, v in REBUILT[record["id"]].items() if v is not None})
    return {k: v for k, v in step.items() if v is not None}


def _ask(service: Service, record: dict[str, Any], stream: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": f"replay {record['id']}"}],
        "metadata": {"tools": ""},  # no server tools: only the record's tools are offered
    }
    if record["tools"]:
        kwargs["tools"] = record["tools"]
    client = service.client()
    if not stream:
        message = client.chat.completions.create(**kwargs).choices[0].message
        calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]
        return {
            "content": message.content,
            "reasoning": message.model_extra.get("reasoning"),
            "tool_calls": calls,
        }
    content, reasoning, calls = "", "", {}
    for chunk in client.chat.completions.create(**kwargs, stream=True):
        delta = chunk.choices[0].delta
        assert "<|" not in (delta.content or ""), f"markup streamed: {delta.content!r}"
        content += delta.content or ""
        reasoning += (delta.model_extra or {}).get("reasoning") or ""
        for call in delta.tool_calls or []:
            name, args = calls.get(call.index, ("", ""))
            calls[call.index] = (
                name + (call.function.name or ""),
                args + (call.function.arguments or ""),
            )
    return {
        "content": content or None,
        "reasoning": reasoning or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
    }


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
@pytest.mark.parametrize("record", KNOWN, ids=[r["id"] for r in KNOWN])
def test_corpus_record_through_the_service(
    service: Service, sim: SimServer, record: dict[str, Any], stream: bool
) -> None:
    sim.control.script(replay_step(record, stream))
    got = _ask(service, record, stream)
    expected = record["expected"]
    assert (got["content"] or None) == (expected["content"] or None)
    assert (got["reasoning"] or None) == (expected["reasoning"] or None)
    calls = [(name, json.loads(arguments)) for name, arguments in got["tool_calls"]]
    assert calls == [(c["name"], c["arguments"]) for c in expected["tool_calls"]]
