"""From a call candidate (raw name + raw argument text) to a ToolCall or an InvalidCall."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.parsing.types import CallCandidate
from agent.toolcalls.names import clean_name
from agent.toolcalls.repair import (
    describe_schema,
    fits_schema,
    parse_arguments,
    single_string_parameter,
    unwrap_envelope,
    validate_arguments,
)
from agent.toolcalls.types import InvalidCall, ToolCall, parameters_schema, tool_functions

_PREVIEW = 200


def resolve_call(
    candidate: CallCandidate,
    tools: Sequence[Any] | None,
    *,
    validate: bool = True,
    call_id: str | None = None,
) -> ToolCall | InvalidCall:
    """Clean the name, recover the arguments and (with `validate`) check both.

    InvalidCall when the arguments cannot be recovered, or, with `validate`, when the
    tool is not offered (tools given) or the arguments break its schema.
    """
    offered = tool_functions(tools)
    name, arguments = _name_and_arguments(candidate, tools)
    raw = candidate.arguments
    if arguments is None:
        expected = (
            f" matching {describe_schema(parameters_schema(offered[name]))}"
            if name in offered
            else ""
        )
        error = (
            f"The arguments for tool '{name}' are not a JSON object: {_preview(raw)}. "
            f"Send a JSON object{expected}."
        )
        return InvalidCall(name, raw, error, call_id)
    if not name:
        error = "The tool call has no tool name. " + _available(offered)
        return InvalidCall(name, raw, error, call_id, arguments)
    if validate and offered and name not in offered:
        error = f"Unknown tool '{name}'. " + _available(offered)
        return InvalidCall(name, raw, error, call_id, arguments)
    schema = parameters_schema(offered.get(name))
    problem = validate_arguments(arguments, schema) if validate and name in offered else None
    if problem:
        error = f"Invalid arguments for tool '{name}': {problem}"
        return InvalidCall(name, raw, error, call_id, arguments)
    return ToolCall(name, arguments, call_id, recovered=candidate.recovered)


def resolve_calls(
    candidates: Sequence[CallCandidate], tools: Sequence[Any] | None, *, validate: bool = True
) -> list[ToolCall | InvalidCall]:
    return [resolve_call(candidate, tools, validate=validate) for candidate in candidates]


def _name_and_arguments(
    candidate: CallCandidate, tools: Sequence[Any] | None
) -> tuple[str, dict[str, Any] | None]:
    offered = tool_functions(tools)
    value = parse_arguments(candidate.arguments)
    name = clean_name(candidate.name, tools, value if isinstance(value, dict) else None)
    envelope = unwrap_envelope(value)
    keep_as_is = (
        isinstance(value, dict)
        and name in offered
        and fits_schema(value, parameters_schema(offered[name]))
    )
    if envelope is not None and not keep_as_is:
        envelope_name, value = envelope
        if not name or (offered and name not in offered):
            name = clean_name(envelope_name, tools, value)
    if isinstance(value, dict):
        return name, value
    return name, _as_single_string(value, candidate.arguments, offered.get(name))


def _as_single_string(value: Any, raw: str, function: dict[str, Any] | None) -> dict | None:
    """Plain text (or a JSON string) given for a tool whose only parameter is a string."""
    parameter = single_string_parameter(parameters_schema(function))
    text = raw.strip()
    if not parameter or not text or text[0] in "{[":
        return None
    if isinstance(value, str):
        return {parameter: value}
    return {parameter: text} if value is None else None


def _available(offered: dict[str, Any]) -> str:
    return f"Available tools: {', '.join(offered)}." if offered else "No tools are available."


def _preview(text: str) -> str:
    text = text.strip() or "(empty)"
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…"
