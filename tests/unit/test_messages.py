from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agent.messages import content_text, to_langchain, to_openai


def test_parts_array_text_is_joined() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert content_text(parts) == "ab"
    assert to_langchain({"role": "user", "content": parts}).content == "ab"


def test_images_are_kept_as_parts() -> None:
    parts = [
        {"type": "text", "text": "see"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ]
    assert to_langchain({"role": "user", "content": parts}).content == parts


def test_assistant_round_trip_keeps_reasoning_and_calls() -> None:
    sent = {
        "role": "assistant",
        "content": None,
        "reasoning_content": "think",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
        ],
    }
    message = to_langchain(sent)
    assert isinstance(message, AIMessage)
    assert message.additional_kwargs["reasoning"] == "think"
    back = to_openai(message)
    assert back["reasoning"] == back["reasoning_content"] == "think"
    assert json.loads(back["tool_calls"][0]["function"]["arguments"]) == {"x": 1}
    assert back["content"] is None


def test_unparseable_arguments_survive_verbatim() -> None:
    sent = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{broken"}}
        ],
    }
    back = to_openai(to_langchain(sent))
    assert back["tool_calls"][0]["function"]["arguments"] == "{broken"


def test_roles() -> None:
    assert isinstance(to_langchain({"role": "developer", "content": "d"}), SystemMessage)
    assert isinstance(to_langchain({"role": "user", "content": "u"}), HumanMessage)
    tool = to_langchain({"role": "tool", "tool_call_id": "c", "content": "r"})
    assert isinstance(tool, ToolMessage) and tool.tool_call_id == "c"
    assert to_openai(tool) == {"role": "tool", "tool_call_id": "c", "content": "r"}
