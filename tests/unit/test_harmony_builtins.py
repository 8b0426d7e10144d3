# ruff: noqa: E501  (the expected prompt is the trained text, line for line)
"""gpt-oss's own tools in harmony: declared in the system message as openai-harmony renders
them, called on the analysis channel, answered as the tool's own messages."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from agent.builtin_tools import GPT_OSS_TOOL_NAMES, code_arguments, code_of
from agent.parsing import ReplyParser
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt

# openai-harmony's python description (its test data); ours states our own limits
HARMONY_PYTHON = (
    "Use this tool to execute Python code in your chain of thought. The code will not be "
    "shown to the user. This tool should be used for internal reasoning, but not for code "
    "that is intended to be visible to the user (e.g. when creating plots, tables, or "
    "files).\n\nWhen you send a message containing Python code to python, it will be "
    "executed in a stateful Jupyter notebook environment. python will respond with the "
    "output of the execution or time out after 120.0 seconds. The drive at '/mnt/data' can "
    "be used to save and persist user files. Internet access for this session is UNKNOWN. "
    "Depends on the cluster."
)


def function(name: str, description: str = "", parameters: dict | None = None) -> dict:
    spec = {"name": name, "description": description}
    if parameters:
        spec["parameters"] = parameters
    return {"type": "function", "function": spec}


CODE = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}
BUILTINS = [
    function("browser_search", "search", {"type": "object", "properties": {}}),
    function("browser_open", "open"),
    function("browser_find", "find"),
    function("python", HARMONY_PYTHON, CODE),
]
OPTIONS = HarmonyOptions(current_date="2025-06-28", builtin=GPT_OSS_TOOL_NAMES)

# test-data/test_browser_and_python_tool.txt of openai/harmony
EXPECTED_SYSTEM = (
    """<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
Knowledge cutoff: 2024-06
Current date: 2025-06-28

Reasoning: medium

# Tools

## browser

// Tool for browsing.
// The `cursor` appears in brackets before each browsing display: `[{cursor}]`.
// Cite information from the tool using the following format:
// `【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.
// Do not quote more than 10 words directly from the tool output.
// sources=web (default: web)
namespace browser {

// Searches for information related to `query` and displays `topn` results.
type search = (_: {
query: string,
topn?: number, // default: 10
source?: string,
}) => any;

// Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, showing `num_lines` lines.
// Valid link ids are displayed with the formatting: `【{id}†.*】`.
// If `cursor` is not provided, the most recent page is implied.
// If `id` is a string, it is treated as a fully qualified URL associated with `source`.
// If `loc` is not provided, the viewport will be positioned at the beginning of the document or centered on the most relevant passage, if available.
// Use this function without `id` to scroll to a new location of an opened page.
type open = (_: {
id?: number | string, // default: -1
cursor?: number, // default: -1
loc?: number, // default: -1
num_lines?: number, // default: -1
view_source?: boolean, // default: false
source?: string,
}) => any;

// Finds exact matches of `pattern` in the current page, or the page given by `cursor`.
type find = (_: {
pattern: string,
cursor?: number, // default: -1
}) => any;

} // namespace browser

## python

"""
    + HARMONY_PYTHON
    + """

# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"""
)


def test_system_message_is_what_openai_harmony_renders() -> None:
    prompt = render_harmony_prompt([{"role": "user", "content": "hi"}], BUILTINS, OPTIONS)
    assert prompt.startswith(EXPECTED_SYSTEM + "<|start|>user<|message|>hi<|end|>")
    assert "<|start|>developer" not in prompt  # no functions: no developer tools section


def test_functions_stay_in_the_developer_message_beside_the_builtins() -> None:
    tools = [*BUILTINS, function("get_weather", "Weather.")]
    prompt = render_harmony_prompt([{"role": "user", "content": "hi"}], tools, OPTIONS)
    system, developer = prompt.split("<|start|>developer<|message|>", 1)
    assert "type get_weather" in developer and "python" not in developer
    assert "Calls to these tools must go to the commentary channel: 'functions'." in system


def test_same_names_not_offered_as_builtins_are_ordinary_functions() -> None:
    options = HarmonyOptions(current_date="2025-06-28")
    prompt = render_harmony_prompt([{"role": "user", "content": "hi"}], BUILTINS, options)
    assert "## python" not in prompt and "type python = " in prompt


def test_history_uses_the_tools_own_messages() -> None:
    messages = [
        {"role": "user", "content": "6*7?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning": "Compute.",
            "tool_calls": [
                {"id": "a", "function": {"name": "python", "arguments": '{"code":"6*7"}'}},
                {"id": "b", "function": {"name": "browser_search", "arguments": '{"query":"q"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "42"},
        {"role": "tool", "tool_call_id": "b", "content": "[0] result"},
    ]
    prompt = render_harmony_prompt(messages, BUILTINS, OPTIONS)
    assert prompt.endswith(
        "<|start|>assistant<|channel|>analysis<|message|>Compute.<|end|>"
        "<|start|>assistant<|channel|>analysis to=python code<|message|>6*7<|call|>"
        '<|start|>assistant<|channel|>analysis to=browser.search json<|message|>{"query":"q"}'
        "<|call|>"
        "<|start|>python to=assistant<|channel|>analysis<|message|>42<|end|>"
        "<|start|>browser.search to=assistant<|channel|>analysis<|message|>[0] result<|end|>"
        "<|start|>assistant"
    )
    assert "functions.python" not in prompt and "functions.browser" not in prompt


@given(st.text(min_size=1).filter(lambda t: "<|" not in t and t.strip("\n") == t))
def test_a_python_call_round_trips_through_harmony(code: str) -> None:
    """Rendered into history, parsed back: the same code (the parser's view of a call)."""
    call = {"id": "a", "function": {"name": "python", "arguments": json.dumps({"code": code})}}
    messages = [{"role": "assistant", "content": "", "tool_calls": [call]}]
    rendered = render_harmony_prompt(messages, BUILTINS, OPTIONS)
    body = rendered.split("<|start|>assistant<|channel|>analysis to=python code")[1]
    parser = ReplyParser(["python"], dialect="harmony", reasoning_dialect=None)
    parser.content("<|channel|>analysis to=python code" + body.removesuffix("<|start|>assistant"))
    parser.close()
    [parsed] = parser.result().calls
    assert parsed.name == "python" and json.loads(parsed.arguments) == {"code": code}
    assert code_of(code_arguments(code)) == code
