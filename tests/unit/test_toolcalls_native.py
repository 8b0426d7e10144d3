"""sanitize_native (tests/unit/sanitized.py): garbled server messages through the reply rules."""

from __future__ import annotations

from agent.toolcalls import InvalidCall, ToolCall
from tests.unit.sanitized import SanitizedMessage, sanitize_native

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
EXEC = {
    "type": "function",
    "function": {
        "name": "exec",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
    },
}
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        },
    },
}
TOOLS = [WEATHER, EXEC, ADD]


def native_call(name: str, arguments: object, call_id: str = "call_1") -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_clean_message_passes_through() -> None:
    message = {
        "content": None,
        "reasoning_content": "Need weather.",
        "tool_calls": [native_call("get_weather", '{"city":"Paris"}')],
    }
    assert sanitize_native(message, TOOLS) == SanitizedMessage(
        None, "Need weather.", [ToolCall("get_weather", {"city": "Paris"}, "call_1")]
    )


def test_names_with_channel_junk_are_cleaned() -> None:
    message = {
        "tool_calls": [
            native_call("get_weather<|channel|>commentary", '{"city":"A"}', "1"),
            native_call("functions.get_weather", '{"city":"B"}', "2"),
        ]
    }
    calls = sanitize_native(message, TOOLS).tool_calls
    assert [c.name for c in calls] == ["get_weather", "get_weather"]


def test_unrelated_junk_name_is_mapped_by_schema_fit() -> None:
    message = {
        "content": "",
        "reasoning": "Now run.",
        "tool_calls": [native_call("assistant<|channel|>analysis", '{"command":"./test"}')],
    }
    result = sanitize_native(message, TOOLS)
    assert result == SanitizedMessage(
        None, "Now run.", [ToolCall("exec", {"command": "./test"}, "call_1")]
    )


def test_arguments_that_are_not_json_are_repaired_or_reported() -> None:
    message = {
        "tool_calls": [
            native_call("get_weather", '{"city": "Paris"', "1"),
            native_call("get_weather", "Paris, please", "2"),
            native_call("add", "one plus two", "3"),
        ]
    }
    repaired, as_text, broken = sanitize_native(message, TOOLS).tool_calls
    assert repaired == ToolCall("get_weather", {"city": "Paris"}, "1")
    assert as_text == ToolCall("get_weather", {"city": "Paris, please"}, "2")
    assert isinstance(broken, InvalidCall)
    assert broken.id == "3"


def test_arguments_given_as_an_object_are_accepted() -> None:
    message = {"tool_calls": [native_call("get_weather", {"city": "Oslo"})]}
    assert sanitize_native(message, TOOLS).tool_calls == [
        ToolCall("get_weather", {"city": "Oslo"}, "call_1")
    ]


def test_json_call_in_content_with_empty_tool_calls() -> None:
    message = {
        "content": '[{ "name": "get_weather", "parameters": { "city": "Berlin" } }]',
        "tool_calls": [],
    }
    assert sanitize_native(message, TOOLS) == SanitizedMessage(
        None, None, [ToolCall("get_weather", {"city": "Berlin"})]
    )


def test_json_call_shown_inside_prose_stays_content() -> None:
    content = 'You could send {"name": "get_weather", "arguments": {"city": "Oslo"}} to it.'
    assert sanitize_native({"content": content}, TOOLS) == SanitizedMessage(content, None, [])


def test_stripped_harmony_in_content_is_split() -> None:
    message = {"content": "analysisUser greets.assistantfinalHello!"}
    assert sanitize_native(message, TOOLS) == SanitizedMessage("Hello!", "User greets.", [])


def test_harmony_call_leaking_into_content() -> None:
    message = {"content": 'commentary to=functions.get_weather json{"city":"Paris"}'}
    calls = sanitize_native(message, TOOLS).tool_calls
    assert calls == [ToolCall("get_weather", {"city": "Paris"})]


def test_reasoning_tags_in_content() -> None:
    message = {"content": "<reasoning>Latin.</reasoning>Sol."}
    assert sanitize_native(message, []) == SanitizedMessage("Sol.", "Latin.", [])


def test_call_left_at_the_end_of_reasoning_is_recovered() -> None:
    message = {"content": "", "reasoning": 'Need to use the tool{"city":"Paris"}', "tool_calls": []}
    assert sanitize_native(message, TOOLS) == SanitizedMessage(
        None, "Need to use the tool", [ToolCall("get_weather", {"city": "Paris"})]
    )


def test_json_at_the_end_of_reasoning_is_kept_when_no_schema_fits() -> None:
    message = {"reasoning": 'Example: {"foo": 1}', "content": ""}
    assert sanitize_native(message, TOOLS) == SanitizedMessage(None, 'Example: {"foo": 1}', [])


def test_harmony_call_inside_reasoning() -> None:
    message = {
        "reasoning": "Let me call.<|start|>assistant<|channel|>commentary to=functions.exec"
        '<|message|>{"command":"ls"}<|call|>',
    }
    assert sanitize_native(message, TOOLS) == SanitizedMessage(
        None, "Let me call.", [ToolCall("exec", {"command": "ls"})]
    )


def test_plain_answer_is_unchanged() -> None:
    message = {"content": "Hello! How can I help?", "reasoning_content": "Greeting."}
    assert sanitize_native(message, TOOLS) == SanitizedMessage(
        "Hello! How can I help?", "Greeting.", []
    )


def test_content_parts_list_is_read() -> None:
    message = {"content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}
    assert sanitize_native(message, []).content == "Hi there"


def test_native_call_and_the_same_call_in_content_are_not_duplicated() -> None:
    message = {
        "content": '<|channel|>commentary to=functions.get_weather<|message|>{"city":"Rome"}',
        "tool_calls": [native_call("get_weather", '{"city": "Rome"}')],
    }
    result = sanitize_native(message, TOOLS)
    expected = [ToolCall("get_weather", {"city": "Rome"}, "call_1")]
    assert result == SanitizedMessage(None, None, expected)
