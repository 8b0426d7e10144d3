"""Hermes (`<tool_call>`) and bare-JSON dialects: tables of outputs and their parse.

Cases follow vLLM's hermes / llama3_json parser behaviour and llama.cpp's accepted
"good bad" outputs (missing closing tag, several calls, text around calls, fences).
"""

from __future__ import annotations

import pytest

from agent.parsing import CallCandidate, Parsed, get_dialect

HERMES = get_dialect("hermes")
JSON = get_dialect("json")
TOOLS = ["get_weather", "get_time"]
CITY = '{"city": "Paris"}'
ENVELOPE = f'{{"name": "get_weather", "arguments": {CITY}}}'

HERMES_CASES: list[tuple[str, str, Parsed]] = [
    (
        "text before one call",
        f"Let me check.\n<tool_call>\n{ENVELOPE}\n</tool_call>",
        Parsed("Let me check.", None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "missing closing tag",
        f"<tool_call>\n{ENVELOPE}",
        Parsed(None, None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "several calls",
        f'<tool_call>{ENVELOPE}</tool_call>\n<tool_call>{{"name": "get_time", '
        f'"arguments": {{}}}}</tool_call>',
        Parsed(None, None, [CallCandidate("get_weather", CITY), CallCandidate("get_time", "{}")]),
    ),
    (
        "think block is reasoning",
        f"<think>Need the weather.</think>\n<tool_call>{ENVELOPE}</tool_call>",
        Parsed(None, "Need the weather.", [CallCandidate("get_weather", CITY)]),
    ),
    (
        "closing tag inside a JSON string is data",
        '<tool_call>{"name": "say", "arguments": {"text": "</tool_call>"}}</tool_call>',
        Parsed(None, None, [CallCandidate("say", '{"text": "</tool_call>"}')]),
    ),
    (
        "arguments given as a JSON string",
        '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}</tool_call>',
        Parsed(None, None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "text after the call is content",
        f"<tool_call>{ENVELOPE}</tool_call>\nI called it.",
        Parsed("I called it.", None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "a payload that is no call becomes content without the tags",
        "<tool_call>not a call at all</tool_call>",
        Parsed("not a call at all", None),
    ),
    (
        "name then JSON inside the tags",
        '<tool_call>\nget_weather\n{"city": "Paris"}\n</tool_call>',
        Parsed(None, None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "call cut short is flagged as truncated",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Par',
        Parsed(None, None, [CallCandidate("get_weather", '{"city": "Par"}', complete=False)]),
    ),
    (
        "fenced JSON call naming an offered tool",
        f"Sure.\n```json\n{ENVELOPE}\n```",
        Parsed("Sure.", None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "parameters key instead of arguments",
        '<tool_call>{"name": "get_time", "parameters": {"tz": "UTC"}}</tool_call>',
        Parsed(None, None, [CallCandidate("get_time", '{"tz": "UTC"}')]),
    ),
    (
        "cut-off opening tag at the end is dropped",
        "Answer: 4 <tool_ca",
        Parsed("Answer: 4", None),
    ),
]

JSON_CASES: list[tuple[str, str, Parsed]] = [
    ("bare object", ENVELOPE, Parsed(None, None, [CallCandidate("get_weather", CITY)])),
    (
        "array of calls with parameters (C10)",
        '[{ "name": "get_weather", "parameters": { "city": "Berlin" } }]',
        Parsed(None, None, [CallCandidate("get_weather", '{"city": "Berlin"}')]),
    ),
    (
        "fenced block with prose around",
        f"I'll look it up.\n```json\n{ENVELOPE}\n```\nOne moment.",
        Parsed("I'll look it up.\nOne moment.", None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "unknown tool name stays content",
        '{"name": "launch_rocket", "arguments": {}}',
        Parsed('{"name": "launch_rocket", "arguments": {}}', None),
    ),
    (
        "OpenAI function style",
        f'{{"type": "function", "function": {{"name": "get_weather", "arguments": {CITY}}}}}',
        Parsed(None, None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "tool_calls wrapper",
        f'{{"tool_calls": [{ENVELOPE}]}}',
        Parsed(None, None, [CallCandidate("get_weather", CITY)]),
    ),
    (
        "ordinary JSON answer stays content",
        '{"name": "Paris", "population": 2100000}',
        Parsed('{"name": "Paris", "population": 2100000}', None),
    ),
    (
        "prose with braces stays content",
        "Use {x} and [y] in the template; ```code``` too.",
        Parsed("Use {x} and [y] in the template; ```code``` too.", None),
    ),
    (
        "reasoning tags (Bedrock, C26)",
        "<reasoning>Latin is Sol</reasoning><reasoning> (genitive Solis).</reasoning>It is Sol.",
        Parsed("It is Sol.", "Latin is Sol (genitive Solis)."),
    ),
    (
        "JSON call after prose",
        f"Calling now: {ENVELOPE}",
        Parsed("Calling now:", None, [CallCandidate("get_weather", CITY)]),
    ),
]


@pytest.mark.parametrize(("label", "text", "expected"), HERMES_CASES)
def test_hermes_parse(label: str, text: str, expected: Parsed) -> None:
    assert HERMES.parse(text, TOOLS) == expected, label


@pytest.mark.parametrize(("label", "text", "expected"), JSON_CASES)
def test_json_parse(label: str, text: str, expected: Parsed) -> None:
    assert JSON.parse(text, TOOLS) == expected, label


def test_json_without_tools_never_finds_calls() -> None:
    assert JSON.parse(ENVELOPE, []) == Parsed(ENVELOPE, None)


def test_hermes_tags_accept_any_name() -> None:
    parsed = HERMES.parse('<tool_call>{"name": "other", "arguments": {}}</tool_call>', [])
    assert parsed.calls == [CallCandidate("other", "{}")]


def test_json_dialect_leaves_tool_call_tags_alone() -> None:
    text = "<tool_call>hello</tool_call>"
    assert JSON.parse(text, TOOLS) == Parsed(text, None)


def test_stream_holds_a_possible_tag_then_releases_it() -> None:
    stream = HERMES.stream(TOOLS)
    assert stream.feed("a <tool").content == "a"
    assert stream.feed("box> b").content == " <toolbox> b"
