"""Hermes prompt mode: tools system prompt and history for a plain chat endpoint."""

from __future__ import annotations

import json

from agent.parsing import get_dialect
from agent.prompts.hermes import render_hermes_messages, render_tool_call, render_tools_prompt

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}

EXPECTED_TOOLS_PROMPT = (
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
    + json.dumps(WEATHER)
    + "\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n\n'
    "Call a function only when it helps; otherwise answer directly. After a call, wait for "
    "the result, which arrives inside <tool_response></tool_response> tags."
)


def test_tools_prompt_text() -> None:
    assert render_tools_prompt([WEATHER]) == EXPECTED_TOOLS_PROMPT


def test_no_tools_no_prompt() -> None:
    assert render_tools_prompt([]) == ""


def test_history_is_rewritten_for_a_plain_chat_endpoint() -> None:
    call = {"id": "c1", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [call, call]},
        {"role": "tool", "tool_call_id": "c1", "content": "snow"},
        {"role": "tool", "tool_call_id": "c1", "content": "rain"},
    ]
    tool_call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    assert render_hermes_messages(messages, [WEATHER]) == [
        {"role": "system", "content": "Be brief.\n\n" + EXPECTED_TOOLS_PROMPT},
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": f"Checking.\n{tool_call}\n{tool_call}"},
        {
            "role": "user",
            "content": "<tool_response>\nsnow\n</tool_response>\n"
            "<tool_response>\nrain\n</tool_response>",
        },
    ]


def test_tools_prompt_becomes_the_system_message_when_there_is_none() -> None:
    rendered = render_hermes_messages([{"role": "user", "content": "hi"}], [WEATHER])
    assert rendered[0] == {"role": "system", "content": EXPECTED_TOOLS_PROMPT}


def test_tool_role_can_be_kept() -> None:
    rendered = render_hermes_messages([{"role": "tool", "content": "42"}], [], tool_role="tool")
    assert rendered == [{"role": "tool", "content": "<tool_response>\n42\n</tool_response>"}]


def test_rendered_call_parses_back_with_the_hermes_dialect() -> None:
    text = render_tool_call("get_weather", '{"city": "Oslo"}')
    parsed = get_dialect("hermes").parse(text, ["get_weather"])
    assert [(c.name, json.loads(c.arguments)) for c in parsed.calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
