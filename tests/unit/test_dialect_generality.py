"""Formats real servers and models produce beyond the core ones, run through the
`oss-agent parse --jsonl` record parser, whole and streamed (a split at every character,
and one character per chunk).

Sources of the shapes: llama.cpp `tests/test-chat.cpp` (Hermes 2 Pro, Qwen3 / QwQ with
the think block opened by the template, `<function=…>` wrappers), Qwen3-Coder's XML
parameters, vLLM's hermes and reasoning-parser tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.parse_cli import parse_record
from agent.parsing import get_dialect


def _tool(name: str) -> dict[str, Any]:
    properties = {"arg1": {"type": "integer"}, "city": {"type": "string"}}
    parameters = {"type": "object", "properties": properties}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


TOOLS = [_tool("special_function"), _tool("get_weather")]
CALL = {"name": "special_function", "arguments": {"arg1": 1}}
WEATHER = {"name": "get_weather", "arguments": {"city": "Paris"}}
JSON_CALL = '{"name": "special_function", "arguments": {"arg1": 1}}'


def _out(content: str | None, reasoning: str | None, *calls: dict) -> dict[str, Any]:
    return {"content": content, "reasoning": reasoning, "tool_calls": list(calls)}


CASES = [
    (
        "qwen3 think opened by the template, then a call",
        "I'm\nthinking\n</think>\n\n<tool_call>\n" + JSON_CALL + "\n</tool_call>",
        _out(None, "I'm\nthinking", CALL),
    ),
    (
        "QwQ think opened by the template, no space before the closing tag",
        "I'm\nthinking</think>\n<tool_call>" + JSON_CALL + "</tool_call>",
        _out(None, "I'm\nthinking", CALL),
    ),
    (
        "R1 think opened by the template, then an answer",
        "I'm\nthinking</think>Hello, world!\nWhat's up?",
        _out("Hello, world!\nWhat's up?", "I'm\nthinking"),
    ),
    (
        "unopened reasoning tag",
        "Plan it.</reasoning>Done.",
        _out("Done.", "Plan it."),
    ),
    (
        "a closing tag after an opened block is not a template-opened one",
        "<think>a</think>b</think>c",
        _out("bc", "a"),
    ),
    (
        "unclosed think holds a tool_call as reasoning",
        "<think><tool_call>nah uhg</tool_call>",
        _out(None, "<tool_call>nah uhg</tool_call>"),
    ),
    (
        "function= element with a JSON body",
        '<function=special_function>{"arg1": 1}</function>',
        _out(None, None, CALL),
    ),
    (
        'function name="…" element',
        '<function name="special_function">\n{"arg1": 1}\n</function>',
        _out(None, None, CALL),
    ),
    (
        "two function= elements after content",
        'Sure.\n<function=special_function>{"arg1": 1}</function>\n'
        '<function=get_weather>{"city": "Paris"}</function>',
        _out("Sure.", None, CALL, WEATHER),
    ),
    (
        "function= element inside tool_call",
        '<tool_call><function=get_weather>{"city": "Paris"}</function></tool_call>',
        _out(None, None, WEATHER),
    ),
    (
        "Qwen3-Coder XML parameters",
        "<tool_call>\n<function=special_function>\n<parameter=arg1>\n1\n</parameter>\n"
        "</function>\n</tool_call>",
        _out(None, None, CALL),
    ),
    (
        "Qwen3-Coder multi-line string parameter after reasoning",
        "Check.\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nNew\nYork\n"
        "</parameter>\n</function>\n</tool_call>",
        _out(None, "Check.", {"name": "get_weather", "arguments": {"city": "New\nYork"}}),
    ),
    (
        "Qwen3-Coder call without parameters",
        "<tool_call>\n<function=get_weather>\n</function>\n</tool_call>",
        _out(None, None, {"name": "get_weather", "arguments": {}}),
    ),
    (
        "```json fence inside tool_call",
        "<tool_call>\n```json\n" + JSON_CALL + "\n```\n</tool_call>",
        _out(None, None, CALL),
    ),
    (
        "Python-literal envelope inside tool_call",
        "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': 'Paris', 'x': True, "
        "'y': None}}\n</tool_call>",
        _out(
            None,
            None,
            {"name": "get_weather", "arguments": {"city": "Paris", "x": True, "y": None}},
        ),
    ),
]


def _splits(text: str) -> list[list[str]]:
    return [[text[:i], text[i:]] for i in range(1, len(text))] + [list(text)]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_record_whole_and_streamed(text: str, expected: dict[str, Any]) -> None:
    """As a service with REASONING_OPENED_IN_PROMPT=true parses content."""
    options = {"tools": TOOLS, "reasoning_opened": True}
    assert parse_record({"text": text, **options}) == expected
    for chunks in _splits(text):
        assert parse_record({"chunks": chunks, **options}) == expected, chunks


FUNCTION_TEXTS = [c[1] for c in CASES if "<function" in c[1]]


@pytest.mark.parametrize("text", FUNCTION_TEXTS)
def test_hermes_stream_equals_parse_for_function_elements(text: str) -> None:
    hermes = get_dialect("hermes")
    names = ["special_function", "get_weather"]
    expected = hermes.parse(text, names)
    for chunks in _splits(text):
        stream = hermes.stream(names)
        for chunk in chunks:
            stream.feed(chunk)
        stream.close()
        assert stream.result() == expected, chunks


def test_content_with_template_opened_think_is_split() -> None:
    parsed = get_dialect("auto").parse("Let me see.</think>It is 4.", [], reasoning_opened=True)
    assert (parsed.content, parsed.reasoning) == ("It is 4.", "Let me see.")


def test_function_text_without_markup_stays_content() -> None:
    text = "Call <function> in C like f(x)."
    assert parse_record({"text": text, "tools": TOOLS}) == _out(text, None)
