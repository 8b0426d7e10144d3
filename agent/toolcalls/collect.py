"""The calls of one reply: the server's own `tool_calls` and those written in its text,
resolved against the offered tools, in the order the model wrote them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from agent.parsing import CallCandidate, Parsed
from agent.parsing.scan import is_complete_json
from agent.toolcalls.repair import fits_schema
from agent.toolcalls.resolve import resolve_call
from agent.toolcalls.types import InvalidCall, ToolCall, parameters_schema, tool_functions

Call = ToolCall | InvalidCall


def collect_calls(
    parsed: Parsed,
    native: Sequence[dict[str, Any]],
    tools: Sequence[Any] | None,
    *,
    cut_off: bool = False,
    validate: bool = True,
) -> list[Call]:
    """The usable and unusable calls.

    With `cut_off` (the token limit ended the reply), a call the end cut off is not a
    call: a text call with no closing marker and arguments that are not complete JSON, or
    a last native call whose arguments are not complete JSON, is dropped, never run or
    returned (only the last native call can have been cut; those before it are complete,
    and repaired when malformed). Calls found in text are added unless the same call came
    natively.
    """
    kept = list(native)
    if cut_off and kept and not is_complete_json(_arguments(kept[-1])):
        kept.pop()
    found = [c for c in parsed.calls if c.complete or not cut_off]
    calls = [_resolve_native(c, tools, validate) for c in kept]
    native_count = len(calls)
    for candidate in found:
        call = resolve_call(candidate, tools, validate=validate)
        if not any(_same(call, known) for known in calls[:native_count]):
            calls.append(call)
    return calls


def _arguments(call: dict[str, Any]) -> str:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    arguments = function.get("arguments")
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


def _resolve_native(call: dict[str, Any], tools: Sequence[Any] | None, validate: bool) -> Call:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    candidate = CallCandidate(str(function.get("name") or ""), _arguments(call))
    call_id = call.get("id") if isinstance(call.get("id"), str) else None
    return resolve_call(candidate, tools, validate=validate, call_id=call_id)


def _same(a: Call, b: Call) -> bool:
    args_a = a.arguments if isinstance(a, ToolCall) else a.raw_arguments
    args_b = b.arguments if isinstance(b, ToolCall) else b.raw_arguments
    return a.name == b.name and args_a == args_b


def tail_call_namer(tools: Sequence[Any] | None) -> Callable[[str], str | None]:
    """For `ReplyParser`: the one offered tool whose schema a JSON object fits, if any."""
    functions = tool_functions(tools)

    def name(text: str) -> str | None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if not isinstance(value, dict) or not value:
            return None
        fitting = [n for n, f in functions.items() if fits_schema(value, parameters_schema(f))]
        return fitting[0] if len(fitting) == 1 else None

    return name
