"""Resolved tool-call types and small helpers over OpenAI function-tool lists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class ToolCall:
    """A call ready to run: a name and an arguments object."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None
    recovered: bool = field(default=False, compare=False)
    """Found in the text outside the mode's call position (CallCandidate.recovered): at
    most a client call, never a server tool run."""

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class InvalidCall:
    """A call that cannot run as written. `error` is written for the model to read.

    `arguments` holds the recovered object when only validation failed (unknown tool
    or schema mismatch); it is None when the arguments could not be recovered.
    """

    name: str
    raw_arguments: str
    error: str
    id: str | None = None
    arguments: dict[str, Any] | None = None


def tool_functions(tools: Sequence[Any] | None) -> dict[str, dict[str, Any]]:
    """Offered function tools by name, from OpenAI `{"type": "function", "function": {...}}`
    entries (flat `{"name": ..., "parameters": ...}` entries are accepted too)."""
    functions: dict[str, dict[str, Any]] = {}
    for tool in tools or ():
        if not isinstance(tool, dict):
            continue
        function = tool.get("function") if tool.get("type", "function") == "function" else None
        if function is None and "name" in tool and "type" not in tool:
            function = tool
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            functions[function["name"]] = function
    return functions


def parameters_schema(function: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON schema of a function's arguments (an empty object schema if none)."""
    schema = (function or {}).get("parameters")
    return schema if isinstance(schema, dict) and schema else EMPTY_SCHEMA


def text_of(value: Any) -> str:
    """Text of a message field: a string, or the text parts of a content list."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    parts = (p.get("text") if isinstance(p, dict) else p for p in value)
    return "".join(p for p in parts if isinstance(p, str))
