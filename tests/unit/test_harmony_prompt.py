"""Harmony prompt rendering: exact text for a small tools + history example."""

from __future__ import annotations

from agent.parsing import get_dialect
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt, render_history
from agent.prompts.harmony_tools import render_tools_section, schema_to_typescript
from agent.toolcalls import tool_functions

TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_location", "description": "Gets the location of the user."},
    },
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Gets the current weather in the provided location.",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "format": {
                        "type": "string",
                        "enum": ["celsius", "fahrenheit"],
                        "default": "celsius",
                    },
                },
                "required": ["location"],
            },
        },
    },
]

SYSTEM = (
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\nCurrent date: 2025-06-28\n\nReasoning: high\n\n"
    "# Valid channels: analysis, commentary, final. Channel must be included for every message.\n"
    "Calls to these tools must go to the commentary channel: 'functions'.<|end|>"
)
DEVELOPER = (
    "<|start|>developer<|message|># Instructions\n\nUse a friendly tone.\n\n# Tools\n\n"
    "## functions\n\nnamespace functions {\n\n"
    "// Gets the location of the user.\ntype get_location = () => any;\n\n"
    "// Gets the current weather in the provided location.\n"
    "type get_current_weather = (_: {\n"
    "// The city and state, e.g. San Francisco, CA\n"
    "location: string,\n"
    'format?: "celsius" | "fahrenheit", // default: celsius\n'
    "}) => any;\n\n"
    "} // namespace functions<|end|>"
)
OPTIONS = HarmonyOptions(reasoning_effort="high", current_date="2025-06-28")


def weather_call(call_id: str, city: str) -> dict:
    arguments = f'{{"location":"{city}"}}'
    function = {"name": "get_current_weather", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}


HISTORY = [
    {"role": "system", "content": "Use a friendly tone."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!", "reasoning": "Greet back."},
    {"role": "user", "content": "Weather in SF?"},
    {
        "role": "assistant",
        "content": None,
        "reasoning": "Need the weather.",
        "tool_calls": [weather_call("c1", "San Francisco, CA")],
    },
    {"role": "tool", "tool_call_id": "c1", "content": '{"sunny": true}'},
]


def test_full_prompt_matches_the_harmony_format() -> None:
    expected = (
        SYSTEM
        + DEVELOPER
        + "<|start|>user<|message|>Hi<|end|>"
        + "<|start|>assistant<|channel|>final<|message|>Hello!<|end|>"
        + "<|start|>user<|message|>Weather in SF?<|end|>"
        + "<|start|>assistant<|channel|>analysis<|message|>Need the weather.<|end|>"
        + "<|start|>assistant to=functions.get_current_weather<|channel|>commentary json"
        + '<|message|>{"location":"San Francisco, CA"}<|call|>'
        + "<|start|>functions.get_current_weather to=assistant<|channel|>commentary"
        + '<|message|>{"sunny": true}<|end|>'
        + "<|start|>assistant"
    )
    assert render_harmony_prompt(HISTORY, TOOLS, OPTIONS) == expected


def test_without_tools_there_is_no_functions_line_nor_developer_message() -> None:
    prompt = render_harmony_prompt([{"role": "user", "content": "Hi"}], [], OPTIONS)
    assert "Calls to these tools" not in prompt
    assert "<|start|>developer" not in prompt
    assert prompt.endswith("<|start|>user<|message|>Hi<|end|><|start|>assistant")


def test_reasoning_of_a_finished_tool_turn_is_dropped() -> None:
    finished = [
        *HISTORY[1:],
        {"role": "assistant", "content": "Sunny.", "reasoning": "Report it."},
        {"role": "user", "content": "Thanks"},
    ]
    rendered = "".join(render_history(finished))
    assert "Need the weather." not in rendered
    assert "Report it." not in rendered
    assert "Greet back." not in rendered
    assert "to=functions.get_current_weather" in rendered


def test_preamble_and_several_calls_with_results_mapped_by_id() -> None:
    message = {
        "role": "assistant",
        "content": "Checking both.",
        "tool_calls": [weather_call("a", "Oslo"), weather_call("b", "Rome")],
    }
    results = [
        {"role": "tool", "tool_call_id": "b", "content": "rain"},
        {"role": "tool", "tool_call_id": "a", "content": "snow"},
    ]
    assert render_history([{"role": "user", "content": "?"}, message, *results])[1:] == [
        "<|start|>assistant<|channel|>commentary<|message|>Checking both.<|end|>",
        "<|start|>assistant to=functions.get_current_weather<|channel|>commentary json"
        '<|message|>{"location":"Oslo"}<|call|>',
        "<|start|>assistant to=functions.get_current_weather<|channel|>commentary json"
        '<|message|>{"location":"Rome"}<|call|>',
        "<|start|>functions.get_current_weather to=assistant<|channel|>commentary"
        "<|message|>rain<|end|>",
        "<|start|>functions.get_current_weather to=assistant<|channel|>commentary"
        "<|message|>snow<|end|>",
    ]


def test_typescript_covers_nested_arrays_nullable_defaults_and_one_of() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer", "default": 10},
            "note": {"type": "string", "nullable": True, "default": "none"},
            "opts": {"type": "object", "properties": {"deep": {"type": "boolean"}}},
            "either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        },
        "required": ["tags"],
    }
    assert schema_to_typescript(schema, "") == (
        "{\n"
        "tags: string[],\n"
        "limit?: number, // default: 10\n"
        'note?: string | null, // default: "none"\n'
        "opts?: {\n    deep?: boolean,\n    },\n"
        "either?:\n | string\n | number\n,\n"
        "}"
    )


def test_tools_section_is_empty_without_tools() -> None:
    assert render_tools_section(tool_functions([])) == ""


def test_rendered_call_parses_back_with_the_harmony_dialect() -> None:
    call_text = "".join(render_history([HISTORY[4]])).removeprefix("<|start|>assistant")
    parsed = get_dialect("harmony").parse(call_text, ["get_current_weather"])
    assert [c.name for c in parsed.calls] == ["get_current_weather"]
