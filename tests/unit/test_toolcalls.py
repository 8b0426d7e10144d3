"""Names, argument repair, validation and resolution of tool calls."""

from __future__ import annotations

import pytest

from agent.parsing import CallCandidate
from agent.toolcalls import (
    InvalidCall,
    ToolCall,
    clean_name,
    repair_arguments,
    resolve_call,
    validate_arguments,
)


def tool(name: str, properties: dict | None = None, required: list | None = None) -> dict:
    parameters = {"type": "object", "properties": properties or {}}
    if required:
        parameters["required"] = required
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


WEATHER = tool(
    "get_weather",
    {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    ["city"],
)
EXEC = tool("exec", {"command": {"type": "string"}}, ["command"])
SHELL = tool("shell", {"cmd": {"type": "array", "items": {"type": "string"}}})
TOOLS = [WEATHER, EXEC, SHELL]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("get_weather", "get_weather"),
        ("functions.get_weather", "get_weather"),
        ("get_weather<|channel|>commentary", "get_weather"),
        (" get_weather\n", "get_weather"),
        ("<|channel|>commentary to=functions.get_weather", "get_weather"),
        ("get_weatherjson", "get_weather"),
        ("Get_Weather", "get_weather"),
        ("get-weather", "get_weather"),
        ("launch_rocket", "launch_rocket"),
        ("assistant<|channel|>analysis", "assistant"),
    ],
)
def test_clean_name(raw: str, expected: str) -> None:
    assert clean_name(raw, TOOLS) == expected


def test_clean_name_keeps_json_suffix_when_the_stripped_name_is_not_offered() -> None:
    assert clean_name("get_weatherjson", []) == "get_weatherjson"
    assert clean_name("parsejson", [tool("parsejson")]) == "parsejson"


def test_clean_name_uses_the_one_tool_whose_schema_fits() -> None:
    assert clean_name("assistant<|channel|>analysis", TOOLS, {"command": "./test"}) == "exec"


def test_clean_name_does_not_guess_when_several_schemas_fit() -> None:
    tools = [tool("a", {"x": {"type": "string"}}), tool("b", {"x": {"type": "string"}})]
    assert clean_name("assistant", tools, {"x": "1"}) == "assistant"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"city": "Paris"}', {"city": "Paris"}),
        ("", {}),
        ("   ", {}),
        ('{"city": "Paris"}]', {"city": "Paris"}),
        ('[{"input": "patch"}]', {"input": "patch"}),
        ('{"name": "get_weather", "arguments": {"city": "Rome"}}', {"city": "Rome"}),
        ('{"name": "Write", "parameters": {"file_path": "a"}}', {"file_path": "a"}),
        ('{"city": "Par', {"city": "Par"}),
        ("{'city': 'Oslo', 'ok': True}", {"city": "Oslo", "ok": True}),
        ('"{\\"a\\": 1}"', {"a": 1}),
        ('{\n  "location": "SF",\n  "unit": "f"\n}', {"location": "SF", "unit": "f"}),
        ("ls -R\n", None),
        ("42", None),
        ("[1, 2]", None),
    ],
)
def test_repair_arguments(text: str, expected: dict | None) -> None:
    assert repair_arguments(text) == expected


def test_repair_keeps_real_arguments_named_like_an_envelope() -> None:
    assert repair_arguments('{"name": "Bob", "email": "b@x"}') == {"name": "Bob", "email": "b@x"}


def test_validate_arguments_accepts_valid() -> None:
    assert validate_arguments({"city": "Paris"}, WEATHER["function"]["parameters"]) is None


def test_validate_arguments_explains_what_is_wrong_and_expected() -> None:
    error = validate_arguments({"unit": "k"}, WEATHER["function"]["parameters"])
    assert error is not None
    assert "'city' is a required property" in error
    assert "'k' is not one of" in error
    assert "city: string (required)" in error


def test_validate_arguments_ignores_a_broken_schema() -> None:
    assert validate_arguments({"a": 1}, {"type": "no-such-type"}) is None


def test_resolve_call_cleans_and_repairs() -> None:
    call = resolve_call(CallCandidate("functions.get_weather", '{"city": "Paris"}]'), TOOLS)
    assert call == ToolCall("get_weather", {"city": "Paris"})


def test_resolve_call_maps_plain_text_to_the_single_string_parameter() -> None:
    assert resolve_call(CallCandidate("exec", "ls -R\n"), TOOLS) == ToolCall(
        "exec", {"command": "ls -R"}
    )


def test_resolve_call_reports_unrecoverable_arguments() -> None:
    call = resolve_call(CallCandidate("shell", "ls -R"), TOOLS)
    assert isinstance(call, InvalidCall)
    assert call.arguments is None
    assert "not a JSON object" in call.error


def test_resolve_call_reports_unknown_tool_with_the_available_ones() -> None:
    call = resolve_call(CallCandidate("launch", "{}"), TOOLS)
    assert isinstance(call, InvalidCall)
    assert "Unknown tool 'launch'" in call.error
    assert "get_weather, exec, shell" in call.error


def test_resolve_call_reports_schema_errors_unless_told_not_to() -> None:
    candidate = CallCandidate("get_weather", '{"town": "Paris"}')
    assert isinstance(resolve_call(candidate, TOOLS), InvalidCall)
    assert resolve_call(candidate, TOOLS, validate=False) == ToolCall(
        "get_weather", {"town": "Paris"}
    )


def test_resolve_call_takes_the_name_from_an_envelope_when_none_is_given() -> None:
    candidate = CallCandidate("", '{"name": "get_weather", "arguments": {"city": "Rome"}}')
    assert resolve_call(candidate, TOOLS) == ToolCall("get_weather", {"city": "Rome"})


def test_resolve_call_without_tools_only_cleans_the_name() -> None:
    candidate = CallCandidate("anything<|channel|>commentary", '{"a": 1}')
    assert resolve_call(candidate, []) == ToolCall("anything", {"a": 1})


def test_resolve_call_without_a_name_is_invalid() -> None:
    call = resolve_call(CallCandidate("", '{"a": 1}'), [])
    assert isinstance(call, InvalidCall)
    assert "no tool name" in call.error
