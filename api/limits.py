"""What a request that runs a turn may hold: JSON the service can hold safely, and the size
limits (docs/errors.md, "Limits"), checked on the parsed JSON before the request models are
built, so an oversized request costs no validation.

Python's `json` accepts `NaN`, `1e999` (infinity) and `"\\ud800"`, none of which can be
written back out (to the model server, the database, a response), and recurses once per
level of nesting. orjson refuses all of them (and nesting past 1024 levels), about ten
times faster: a body is parsed by orjson, and only one it refuses is parsed again by
`json` with checks, to say what is wrong and where (orjson names only a position).

Both turn APIs are covered: chat completions (`messages`, `tools[].function`) and the
Responses API (`input`, `instructions`, `tools[]`). Each refusal names its setting and,
in `param`, the field.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from agent.errors import AgentError
from agent.settings import Settings

DEPTH_SETTING = "MAX_JSON_DEPTH"


def _no_constant(name: str) -> Any:
    raise AgentError(
        f"The request body holds `{name}`, which is not JSON (RFC 8259 has no NaN or "
        "Infinity); send a number or null.",
        code="invalid_json",
    )


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        _no_constant(text)
    return value


def parse_strict(body: bytes | str, max_depth: int, where: str | None = None) -> Any:
    """The parsed JSON, or AgentError: NaN/Infinity, lone surrogates, nesting deeper than
    `max_depth`. json.JSONDecodeError (bad syntax) is left to the caller."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _parse_checked(body, max_depth, where)
    if _nested_deeper(value, max_depth):
        return _parse_checked(body, max_depth, where)  # raises, naming where
    return value


def _parse_checked(body: bytes | str, max_depth: int, where: str | None) -> Any:
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise too_deep(where, max_depth) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit limit
        message = f"The request body holds unusable JSON: {exc}"
        raise AgentError(message, code="invalid_json") from None
    _check_tree(value, max_depth, where)
    return value


def _nested_deeper(value: Any, max_depth: int) -> bool:
    """Whether JSON orjson parsed (its strings are valid) nests deeper than `max_depth`,
    walked a level at a time, without recursion."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(max_depth):
        if not level:
            return False
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return bool(level)


def _check_tree(value: Any, max_depth: int, where: str | None) -> None:
    """Walk parsed JSON without recursion: nesting and strings (every key and value)."""
    stack: list[tuple[Any, int, tuple]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _check_text(node, where, path)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise too_deep(_param(where, path), max_depth)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(key, str):
                _check_text(key, where, path)
            stack.append((child, depth + 1, (*path, key)))


def _check_text(text: str, where: str | None, path: tuple) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise AgentError(
            f"{_param(where, path) or 'The request body'} holds a lone UTF-16 surrogate "
            "(such as \\ud800 without its pair), which is not text; send valid Unicode.",
            param=_param(where, path),
            code="invalid_json",
        ) from None


def too_deep(param: str | None, max_depth: int) -> AgentError:
    """The 400 for JSON nested deeper than MAX_JSON_DEPTH."""
    return AgentError(
        f"{param or 'The request body'} is JSON nested more than {max_depth} levels deep "
        f"({DEPTH_SETTING}); flatten it.",
        param=param,
        code="json_too_deep",
    )


def _param(where: str | None, path: tuple) -> str | None:
    """The field a problem is in, named down to at most six levels."""
    parts = [where] if where else []
    parts += [str(p) for p in path[:6]]
    return ".".join(parts) or None


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
