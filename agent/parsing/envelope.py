"""The one call-envelope recogniser (`{"name": ..., "arguments": {...}}` and kin) and the one
lenient JSON loader, used by the dialects and by argument repair alike."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import json_repair

from agent.parsing.types import CallCandidate

NAME_KEYS = ("name", "tool_name", "function_name", "tool", "function")
ARGUMENT_KEYS = ("arguments", "parameters", "args", "tool_input", "input")
_IGNORED_KEYS = frozenset({"type", "id", "index", "call_id"})
_WRAPPER_KEYS = ("tool_calls", "tool_call", "function_call")
_NAME_THEN_JSON = re.compile(r"\s*([\w.\-]+)\s*\(?\s*(\{.*\})\s*\)?\s*", re.DOTALL)
# `<function=NAME>` / `<function name="NAME">` elements (Functionary, llama.cpp Hermes 2 Pro,
# Qwen3-Coder), with a JSON body or `<parameter=KEY>value</parameter>` children.
_FUNCTION = re.compile(
    r"<function(?:=([^>\s]+)|\s+name\s*=\s*[\"']?([^\"'>]+)[\"']?)\s*>(.*?)(?:</function>|\Z)",
    re.DOTALL,
)
_PARAMETER = re.compile(r"<parameter=([^>]+)>(.*?)(?:</parameter>|(?=<parameter=)|\Z)", re.DOTALL)


_DECODER = json.JSONDecoder()


def load_json(text: str, *, repaired_containers_only: bool = False) -> Any:
    """The one lenient JSON loader: strict JSON; else the leading object or array (trailing
    junk such as a stray `]` dropped); else json-repair. None when nothing usable comes out
    (with `repaired_containers_only`, also when a repair gives no object or array)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return _DECODER.raw_decode(stripped)[0]
        except ValueError:
            pass
    try:
        value = json_repair.loads(text, skip_json_loads=True)
    except Exception:
        return None
    if repaired_containers_only and not isinstance(value, dict | list):
        return None
    return None if value == "" else value


def split_envelope(value: Any, *, allow_flat: bool = True) -> tuple[str, Any] | None:
    """(name, arguments) when `value` is a call envelope, else None.

    Accepts `{"name", "arguments"|"parameters"|...}`, `{"function": {...}}`,
    `{"type": "function", "function": {...}}`, and a flat `{"name": ..., <args>...}`.
    """
    if not isinstance(value, dict):
        return None
    inner = value.get("function")
    if isinstance(inner, dict) and set(value) - {"function"} <= _IGNORED_KEYS:
        return split_envelope(inner, allow_flat=allow_flat)
    name_key = next((k for k in NAME_KEYS if isinstance(value.get(k), str)), None)
    if name_key is None or not value[name_key].strip():
        return None
    arg_key = next((k for k in ARGUMENT_KEYS if k in value), None)
    rest = {k: v for k, v in value.items() if k not in {name_key, arg_key} | _IGNORED_KEYS}
    if arg_key is None:
        return (value[name_key], rest) if allow_flat else None
    if rest:
        return None
    return value[name_key], value[arg_key]


def arguments_text(arguments: Any) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def calls_from_value(
    value: Any, tool_names: Sequence[str], *, known_only: bool
) -> list[CallCandidate] | None:
    """The calls a JSON value holds (one envelope, a list, or a tool_calls wrapper).

    With `known_only`, every call must name an offered tool, so that ordinary JSON
    answers are never mistaken for calls.
    """
    if isinstance(value, dict):
        wrapped = next((value[k] for k in _WRAPPER_KEYS if k in value and len(value) == 1), None)
        if wrapped is not None:
            value = wrapped
    items = value if isinstance(value, list) else [value]
    calls = []
    for item in items:
        envelope = split_envelope(item)
        if envelope is None:
            return None
        name, arguments = envelope
        if known_only and name.removeprefix("functions.") not in tool_names:
            return None
        calls.append(CallCandidate(name, arguments_text(arguments)))
    return calls or None


def calls_from_payload(payload: str, tool_names: Sequence[str]) -> list[CallCandidate] | None:
    """Calls inside a `<tool_call>` element: a JSON envelope, `<function=NAME>` elements,
    or `name {json}`."""
    if payload.lstrip().startswith("<function"):
        return calls_from_function_tags(payload)
    calls = calls_from_value(load_json(payload), tool_names, known_only=False)
    if calls:
        return calls
    match = _NAME_THEN_JSON.fullmatch(payload)
    return [CallCandidate(match.group(1), match.group(2))] if match else None


def calls_from_function_tags(payload: str) -> list[CallCandidate] | None:
    """Calls written as `<function=NAME>…</function>` or `<function name="NAME">…`."""
    calls = [
        CallCandidate((match[1] or match[2]).strip(), _function_body(match[3]))
        for match in _FUNCTION.finditer(payload)
    ]
    return calls or None


def _function_body(body: str) -> str:
    if "<parameter=" not in body:
        return body.strip()
    parameters = {key.strip(): _parameter_value(value) for key, value in _PARAMETER.findall(body)}
    return json.dumps(parameters, ensure_ascii=False)


def _parameter_value(text: str) -> Any:
    """A parameter's text, one newline trimmed each side (Qwen3-Coder puts values on their
    own line); JSON numbers, booleans, null, objects and arrays are decoded."""
    text = text.removeprefix("\n").removesuffix("\n")
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, str) else value
