"""A full harmony prompt for `/v1/completions`, from OpenAI-style messages and tools.

History rules (gpt-oss.md §1.2, §2.5, §2.6): an assistant tool call is rendered as
`<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{args}<|call|>`,
preceded by the turn's reasoning as an analysis message; a tool result is
`<|start|>functions.NAME to=assistant<|channel|>commentary<|message|>…<|end|>` with NAME
found from `tool_call_id`. gpt-oss's own tools (agent/builtin_tools.py) are declared in
the system message instead, called on the analysis channel
(`<|start|>assistant<|channel|>analysis to=python code<|message|>…<|call|>`) and
answered as `<|start|>python to=assistant<|channel|>analysis<|message|>…<|end|>`.
Reasoning of a turn that ended in a final answer is dropped; reasoning of the ongoing
turn (calls without a final answer yet) is kept. Every text and name placed into the prompt
passes `neutral` (agent/prompts/neutral.py) in `_message`, `_call` and `_recipient`, so none
can open or close a message.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agent.builtin_tools import PYTHON, code_of, recipient_for_tool
from agent.prompts.harmony_builtins import render_builtin_section
from agent.prompts.harmony_tools import render_tools_section
from agent.prompts.neutral import neutral
from agent.toolcalls.types import text_of, tool_functions

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."
_INSTRUCTION_ROLES = ("system", "developer")


@dataclass(frozen=True)
class HarmonyOptions:
    reasoning_effort: Literal["low", "medium", "high"] = "medium"
    current_date: str | None = None  # ISO date; today when None
    knowledge_cutoff: str = "2024-06"
    model_identity: str = DEFAULT_IDENTITY
    instructions: str | None = None  # appended to the system/developer messages' text
    builtin: frozenset[str] = frozenset()  # offered tools that are gpt-oss's own (python...)


def render_harmony_prompt(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[Any] | None = None,
    options: HarmonyOptions | None = None,
) -> str:
    """The prompt text, ending with `<|start|>assistant` for the model to continue."""
    options = options or HarmonyOptions()
    offered = tool_functions(tools)
    builtin = {name: f for name, f in offered.items() if name in options.builtin}
    functions = {name: f for name, f in offered.items() if name not in options.builtin}
    system = system_text(options, has_tools=bool(functions), builtin=builtin)
    parts = [_message("system", system)]
    developer = developer_text(_instructions(messages, options), functions)
    if developer:
        parts.append(_message("developer", developer))
    parts += render_history(messages, options.builtin)
    return "".join(parts) + "<|start|>assistant"


def system_text(
    options: HarmonyOptions, *, has_tools: bool, builtin: dict[str, dict[str, Any]] | None = None
) -> str:
    """The system message; `builtin` ({name: OpenAI function}) declares gpt-oss's own tools."""
    date = options.current_date or datetime.date.today().isoformat()
    channels = (
        "# Valid channels: analysis, commentary, final. Channel must be included for every message."
    )
    if has_tools:
        channels += "\nCalls to these tools must go to the commentary channel: 'functions'."
    tools = render_builtin_section(builtin or {})
    return (
        f"{options.model_identity}\nKnowledge cutoff: {options.knowledge_cutoff}\n"
        f"Current date: {date}\n\nReasoning: {options.reasoning_effort}\n\n"
        + (f"{tools}\n\n" if tools else "")
        + channels
    )


def developer_text(instructions: str, functions: dict[str, dict[str, Any]]) -> str:
    """The developer message: instructions, then the functions ({name: OpenAI function})."""
    sections = ["# Instructions", instructions] if instructions else []
    tools_section = render_tools_section(functions)
    if tools_section:
        sections.append(tools_section)
    return "\n\n".join(sections)


def render_history(
    messages: Sequence[dict[str, Any]], builtin: frozenset[str] = frozenset()
) -> list[str]:
    """Harmony messages for the conversation (system/developer messages excluded); calls
    to the tools in `builtin` and their results in gpt-oss's own-tool form."""
    call_names = _call_names(messages)
    finished = _turns_with_final_answer(messages)
    parts: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "user":
            parts.append(_message("user", text_of(message.get("content"))))
        elif role == "assistant":
            parts += _assistant(message, builtin, keep_reasoning=index not in finished)
        elif role == "tool":
            name = call_names.get(message.get("tool_call_id")) or message.get("name") or "tool"
            recipient = recipient_for_tool(name, builtin)
            header = (
                f"{recipient} to=assistant<|channel|>analysis"
                if recipient
                else f"{_recipient(name)} to=assistant<|channel|>commentary"
            )
            parts.append(_message(header, text_of(message.get("content"))))
    return parts


def _assistant(
    message: dict[str, Any], builtin: frozenset[str], *, keep_reasoning: bool
) -> list[str]:
    parts = []
    reasoning = text_of(message.get("reasoning") or message.get("reasoning_content"))
    if keep_reasoning and reasoning:
        parts.append(_message("assistant<|channel|>analysis", reasoning))
    content = text_of(message.get("content"))
    calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    if not calls:
        return parts + ([_message("assistant<|channel|>final", content)] if content else [])
    if content:
        parts.append(_message("assistant<|channel|>commentary", content))
    return parts + [_call(call.get("function") or {}, builtin) for call in calls]


def _call(function: dict[str, Any], builtin: frozenset[str]) -> str:
    name, arguments = function.get("name", ""), function.get("arguments")
    recipient = recipient_for_tool(name, builtin)
    if recipient == PYTHON:
        header, body = "assistant<|channel|>analysis to=python code", code_of(arguments)
        return f"<|start|>{header}<|message|>{neutral(body)}<|call|>"
    body = arguments.strip() if isinstance(arguments, str) else _compact_json(arguments)
    if recipient:
        header = f"assistant<|channel|>analysis to={recipient} json"
    else:
        header = f"assistant to={_recipient(name)}<|channel|>commentary json"
    return f"<|start|>{header}<|message|>{neutral(body or '{}')}<|call|>"


def _turns_with_final_answer(messages: Sequence[dict[str, Any]]) -> set[int]:
    """Indexes of assistant messages whose turn (since the last user message) has a
    final answer: their reasoning is dropped."""
    finished: set[int] = set()
    turn: list[int] = []
    for index, message in enumerate([*messages, {"role": "user"}]):
        role = message.get("role")
        if role == "user":
            if any(_is_final_answer(messages[i]) for i in turn):
                finished.update(turn)
            turn = []
        elif role == "assistant":
            turn.append(index)
    return finished


def _is_final_answer(message: dict[str, Any]) -> bool:
    return not message.get("tool_calls") and bool(text_of(message.get("content")))


def _call_names(messages: Sequence[dict[str, Any]]) -> dict[Any, str]:
    names = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id"):
                names[call["id"]] = (call.get("function") or {}).get("name", "")
    return names


def _instructions(messages: Sequence[dict[str, Any]], options: HarmonyOptions) -> str:
    texts = [text_of(m.get("content")) for m in messages if m.get("role") in _INSTRUCTION_ROLES]
    texts.append(options.instructions or "")
    return "\n\n".join(t.strip() for t in texts if t and t.strip())


def _message(header: str, body: str) -> str:
    return f"<|start|>{header}<|message|>{neutral(body)}<|end|>"


def _recipient(name: Any) -> str:
    """`functions.NAME` for a header, the name neutralised (a header ends at whitespace)."""
    return "functions." + neutral("".join(str(name).split()))


def _compact_json(value: Any) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False, separators=(",", ":"))
