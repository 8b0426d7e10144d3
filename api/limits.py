"""The size limits of a request that runs a turn (docs/errors.md, "Limits"), checked on the parsed
JSON before the request models are built, so an oversized request costs no validation.

Both turn APIs are covered: chat completions (`messages`, `tools[].function`) and the
Responses API (`input`, `instructions`, `tools[]`). Each refusal names its setting and,
in `param`, the field.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from agent.errors import AgentError
from agent.settings import Settings
from api.json_guard import parse_strict, too_deep

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_TEXT_FIELDS = ("reasoning", "reasoning_content", "output")


@dataclass(frozen=True)
class RequestLimits:
    """The limits in force; built once from the settings."""

    max_messages: int
    max_message_chars: int
    max_tools: int
    max_tool_schema_bytes: int
    max_json_depth: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            settings.max_messages,
            settings.max_message_chars,
            settings.max_tools,
            settings.max_tool_schema_bytes,
            settings.max_json_depth,
        )


def check_request(body: Any, limits: RequestLimits) -> None:
    """AgentError (400) for the first limit the body passes."""
    if not isinstance(body, dict):
        return
    for field in ("messages", "input"):
        items = body.get(field)
        if isinstance(items, list):
            _check_messages(items, field, limits)
        elif isinstance(items, str):
            _check_chars(len(items), field, limits)
    if isinstance(body.get("instructions"), str):
        _check_chars(len(body["instructions"]), "instructions", limits)
    if isinstance(body.get("tools"), list):
        _check_tools(body["tools"], limits)


def _check_messages(items: list, field: str, limits: RequestLimits) -> None:
    if len(items) > limits.max_messages:
        raise _over(
            f"{field} has {len(items)} items; at most {limits.max_messages} are accepted "
            "(MAX_MESSAGES).",
            field,
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        length = _text_length(item)
        if length > limits.max_message_chars:
            _check_chars(length, f"{field}.{index}", limits)
        if "arguments" in item or item.get("tool_calls"):
            for where, arguments in _arguments(item, f"{field}.{index}"):
                check_arguments(arguments, where, limits.max_json_depth)


def _text_length(message: dict) -> int:
    """Characters of a message's text: its content (string or text parts), reasoning, and a
    function_call_output's `output`: a string, or any other JSON, which reaches the model as
    its JSON text (api/responses/request.py)."""
    content = message.get("content")
    total = len(content) if isinstance(content, str) else 0
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        total += sum(len(text) for text in parts if isinstance(text, str))
    for name in _TEXT_FIELDS:
        text = message.get(name)
        if isinstance(text, str):
            total += len(text)
    output = message.get("output")
    if output is not None and not isinstance(output, str):
        total += len(json.dumps(output))
    return total


def _check_chars(length: int, param: str, limits: RequestLimits) -> None:
    if length > limits.max_message_chars:
        raise _over(
            f"{param} has {length} characters of text; at most {limits.max_message_chars} "
            "per message are accepted (MAX_MESSAGE_CHARS).",
            param,
        )


def _arguments(item: dict, where: str) -> list[tuple[str, str]]:
    """Tool-call arguments (JSON text) of a chat message or a Responses function_call."""
    found = []
    if isinstance(item.get("arguments"), str):
        found.append((f"{where}.arguments", item["arguments"]))
    calls = item.get("tool_calls")
    for index, call in enumerate(calls if isinstance(calls, list) else []):
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            found.append((f"{where}.tool_calls.{index}.function.arguments", function["arguments"]))
    return found


def check_arguments(text: str, param: str, max_depth: int) -> None:
    """Arguments nested too deeply, or valid JSON holding NaN or a lone surrogate, are
    refused; other broken JSON is left for the agent's repair."""
    if bracket_depth(text) > max_depth:
        raise too_deep(param, max_depth)
    with contextlib.suppress(json.JSONDecodeError):
        parse_strict(text, max_depth, param)


def bracket_depth(text: str) -> int:
    """The deepest nesting of [] and {} outside JSON strings, closed or not."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _check_tools(tools: list, limits: RequestLimits) -> None:
    if len(tools) > limits.max_tools:
        raise _over(
            f"tools has {len(tools)} tools; at most {limits.max_tools} are accepted (MAX_TOOLS).",
            "tools",
        )
    for index, tool in enumerate(tools):
        size = len(json.dumps(tool, ensure_ascii=False).encode())
        if size > limits.max_tool_schema_bytes:
            raise _over(
                f"tools.{index} is {size} bytes of JSON; at most {limits.max_tool_schema_bytes} "
                "per tool are accepted (MAX_TOOL_SCHEMA_BYTES).",
                f"tools.{index}",
            )


def _over(message: str, param: str) -> AgentError:
    return AgentError(message, param=param, code="limit_exceeded")
