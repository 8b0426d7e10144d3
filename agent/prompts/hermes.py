"""Tool calling by prompt, for models without native tools (the `prompt` mode).

Tools are described in the Hermes / Qwen format most open models were trained on: the
schemas inside `<tools></tools>` and the instruction to answer with
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>`. The history is rewritten for a
plain chat endpoint: assistant calls become `<tool_call>` text, tool results become a
user (or `tool`) message wrapped in `<tool_response>`. Every text placed into the messages
passes `neutral` (agent/prompts/neutral.py): only our own tags are live.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any, Literal

from agent.prompts.neutral import neutral
from agent.toolcalls.types import text_of, tool_functions

_INTRO = (
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
_OUTRO = (
    "\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n\n'
    "Call a function only when it helps; otherwise answer directly. After a call, wait "
    "for the result, which arrives inside <tool_response></tool_response> tags."
)


def render_tools_prompt(tools: Sequence[Any] | None) -> str:
    """System-prompt text describing the tools; "" when there are none."""
    functions = tool_functions(tools)
    if not functions:
        return ""
    lines = [
        neutral(json.dumps({"type": "function", "function": function}, ensure_ascii=False))
        for function in functions.values()
    ]
    return _INTRO + "\n".join(lines) + _OUTRO


def render_tool_call(name: str, arguments: Any) -> str:
    """One call as the model is asked to write it."""
    if isinstance(arguments, str):
        # unparseable text stays as written: the model sees its own output
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments) if arguments.strip() else {}
    payload = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{neutral(payload)}\n</tool_call>"


def render_hermes_messages(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[Any] | None = None,
    *,
    tool_role: Literal["user", "tool"] = "user",
) -> list[dict[str, str]]:
    """Plain `{"role", "content"}` messages for a chat endpoint without tool support.

    The tools prompt is appended to the first system message (or becomes one).
    Consecutive tool results are merged into one message.
    """
    out: list[dict[str, str]] = []
    for message in messages:
        role = message.get("role")
        text = neutral(text_of(message.get("content")))
        if role in ("system", "developer"):
            out.append({"role": "system", "content": text})
        elif role == "assistant":
            out.append({"role": "assistant", "content": _assistant_text(message)})
        elif role == "tool":
            _add_tool_result(out, text, tool_role)
        else:
            out.append({"role": str(role or "user"), "content": text})
    return _with_tools_prompt(out, render_tools_prompt(tools))


def _assistant_text(message: dict[str, Any]) -> str:
    parts = [neutral(text_of(message.get("content"))).strip()]
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.append(render_tool_call(str(function.get("name", "")), function.get("arguments")))
    return "\n".join(part for part in parts if part)


def _add_tool_result(out: list[dict[str, str]], result: str, role: str) -> None:
    wrapped = f"<tool_response>\n{result}\n</tool_response>"
    previous = out[-1] if out else None
    if previous and previous["role"] == role and previous["content"].endswith("</tool_response>"):
        previous["content"] += "\n" + wrapped
    else:
        out.append({"role": role, "content": wrapped})


def _with_tools_prompt(out: list[dict[str, str]], tools_prompt: str) -> list[dict[str, str]]:
    if not tools_prompt:
        return out
    for message in out:
        if message["role"] == "system":
            message["content"] = f"{message['content'].rstrip()}\n\n{tools_prompt}".lstrip()
            return out
    return [{"role": "system", "content": tools_prompt}, *out]
