"""The tool-call probe of `oss-agent doctor`: one small request with one tool, and which
TOOL_CALL_MODE fits what the model server does with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
PROBE_QUESTION = "What is the weather in Paris right now? Call the get_weather tool."
HARMONY_MARKS = ("<|channel|>", "<|call|>", "<|message|>", "to=functions.", "assistantfinal")


@dataclass(frozen=True)
class ProbeResult:
    behaviour: str
    """native · harmony · json · none · rejects"""
    fits: tuple[str, ...]
    """The TOOL_CALL_MODE values that work with it."""
    detail: str


def probe_body(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": PROBE_QUESTION}],
        "tools": [PROBE_TOOL],
        "max_tokens": 512,
    }


def classify(response: httpx.Response) -> ProbeResult:
    """What the server did with `tools`, from its answer to the probe."""
    if response.status_code >= 400:
        why = response.text[:200].strip()
        detail = f"the server answered {response.status_code} to a request with `tools`: {why}"
        return ProbeResult("rejects", ("prompt", "harmony"), detail)
    message = (response.json().get("choices") or [{}])[0].get("message") or {}
    content = message.get("content") or ""
    if message.get("tool_calls"):
        return ProbeResult("native", ("auto", "native"), "the server returns `tool_calls`")
    if any(mark in content for mark in HARMONY_MARKS):
        detail = "the call came back as harmony markup in `content` (no tool-call parser)"
        return ProbeResult("harmony", ("auto", "harmony"), detail)
    if _looks_like_json_call(content):
        return ProbeResult("json", ("auto", "prompt"), "the call came back as JSON in `content`")
    detail = "the model answered without calling the tool"
    return ProbeResult("none", ("auto", "native", "harmony", "prompt"), detail)


def _looks_like_json_call(content: str) -> bool:
    text = content.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        value = json.loads(text.strip())
    except ValueError:
        return '"name"' in content and "get_weather" in content
    calls = value if isinstance(value, list) else [value]
    return any(isinstance(c, dict) and c.get("name") == "get_weather" for c in calls)
