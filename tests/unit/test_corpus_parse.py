"""Every parseable corpus record (tests/data/corpus.jsonl) through the parsers.

Surfaces: `raw`/`content` (text), `stream` (decoded content deltas fed in order; SSE
lines are assembled into a message for sanitize_native), `tool_call` (a native call
with a broken name or arguments) and `response` objects (sanitize_native). Records
with an `expected` parse must match it (arguments compared as JSON, "" equal to null);
records without one must not crash, must not leak harmony tokens, and must not invent
a call where `expected_error` says none is recoverable.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.parse_cli import parse_record
from agent.parsing import CallCandidate, get_dialect
from agent.toolcalls import InvalidCall, ToolCall, resolve_call, resolve_calls, tool_functions
from tests.unit.sanitized import SanitizedMessage, sanitize_native

CORPUS = Path(__file__).parents[1] / "data" / "corpus.jsonl"
TOKEN = re.compile(r"<\|(start|channel|message|end|call|return|constrain)\|>")
NOTHING_RECOVERABLE = re.compile(r"no tool (call|name) (is )?recoverable", re.IGNORECASE)


def load_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def is_sse(item: str) -> bool:
    return item.startswith("data: ")


def parseable(record: dict[str, Any]) -> bool:
    surface, value = record["surface"], record["input"]
    if surface in ("raw", "content", "tool_call", "stream"):
        return True
    return surface == "response" and isinstance(value, dict)


RECORDS = [r for r in load_records() if parseable(r)]
TEXT_RECORDS = [
    r
    for r in RECORDS
    if r["surface"] in ("raw", "content")
    or (r["surface"] == "stream" and not any(is_sse(i) for i in r["input"]))
]


def parse_text_chunks(chunks: list[str], tools: list[dict]) -> SanitizedMessage:
    names = list(tool_functions(tools))
    stream = get_dialect("auto").stream(names)
    for chunk in chunks:
        stream.feed(chunk)
    stream.close()
    parsed = stream.result()
    calls = resolve_calls(parsed.calls, tools, validate=False)
    return SanitizedMessage(parsed.content, parsed.reasoning, calls)


def message_from_sse(lines: list[str]) -> dict[str, Any]:
    """Accumulate OpenAI chat.completion.chunk deltas into one assistant message."""
    content, reasoning, calls = [], [], {}
    for line in lines:
        for choice in json.loads(line.removeprefix("data: ")).get("choices", []):
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            reasoning.append(delta.get("reasoning") or delta.get("reasoning_content") or "")
            for call in delta.get("tool_calls") or []:
                slot = calls.setdefault(call["index"], {"name": "", "arguments": ""})
                function = call.get("function") or {}
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
    tool_calls = [{"function": calls[i]} for i in sorted(calls)]
    return {"content": "".join(content), "reasoning": "".join(reasoning), "tool_calls": tool_calls}


def tool_call_candidate(text: str) -> CallCandidate:
    """A native call as quoted: its arguments alone, or a name line then the arguments."""
    if text.lstrip().startswith("{"):
        return CallCandidate("", text)
    name, _, arguments = text.partition("\n")
    return CallCandidate(name, arguments)


def run_record(record: dict[str, Any]) -> SanitizedMessage:
    surface, value, tools = record["surface"], record["input"], record["tools"]
    if surface in ("raw", "content"):
        return parse_text_chunks([value], tools)
    if surface == "stream" and any(is_sse(item) for item in value):
        return sanitize_native(message_from_sse(value), tools, validate=False)
    if surface == "stream":
        return parse_text_chunks(value, tools)
    if surface == "tool_call":
        call = resolve_call(tool_call_candidate(value), tools, validate=False)
        return SanitizedMessage(None, None, [call])
    return sanitize_native(value["choices"][0]["message"], tools, validate=False)


def as_expected_shape(message: SanitizedMessage) -> dict[str, Any]:
    invalid = [c for c in message.tool_calls if isinstance(c, InvalidCall)]
    assert not invalid, invalid
    return {
        "content": message.content or None,
        "reasoning": message.reasoning or None,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments}
            for c in message.tool_calls
            if isinstance(c, ToolCall)
        ],
    }


def normalised(expected: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": expected["content"] or None,
        "reasoning": expected["reasoning"] or None,
        "tool_calls": [
            {"name": c["name"], "arguments": c["arguments"]} for c in expected["tool_calls"]
        ],
    }


def check_unexpected(record: dict[str, Any], calls: list[Any], texts: list[str | None]) -> None:
    for text in texts:
        assert not TOKEN.search(text or ""), text
    if NOTHING_RECOVERABLE.search(record["expected_error"] or ""):
        assert not calls, calls


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r["id"])
def test_corpus_record(record: dict[str, Any]) -> None:
    result = run_record(record)
    if record["expected"] is not None:
        assert as_expected_shape(result) == normalised(record["expected"])
    else:
        valid = [c for c in result.tool_calls if isinstance(c, ToolCall)]
        check_unexpected(record, valid, [result.content, result.reasoning])


@pytest.mark.parametrize("record", TEXT_RECORDS, ids=lambda r: r["id"])
def test_corpus_record_through_parse_record(record: dict[str, Any]) -> None:
    key = "chunks" if record["surface"] == "stream" else "text"
    output = parse_record({key: record["input"], "tools": record["tools"]})
    if record["expected"] is not None:
        assert output == normalised(record["expected"])
    elif "error" not in output:
        check_unexpected(record, output["tool_calls"], [output["content"], output["reasoning"]])


def test_corpus_has_the_records_this_suite_expects() -> None:
    with_expected = [r["id"] for r in RECORDS if r["expected"] is not None]
    assert len(RECORDS) == 30
    assert len(with_expected) == 20
