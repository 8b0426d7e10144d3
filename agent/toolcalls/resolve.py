"""From what a model wrote to checked calls, against the offered tools.

* Arguments: recovered from what models write (`repair_arguments`, `parse_arguments`) and
  checked against the tool's schema (`validate_arguments`).
* Names: the tool name a model wrote turned into an offered tool's name (`clean_name`).
* One call: a call candidate (raw name + raw argument text) to a `ToolCall` or an
  `InvalidCall` (`resolve_call`).
* One reply: the server's own `tool_calls` and those written in its text, resolved, in the
  order the model wrote them (`collect_calls`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from jsonschema import exceptions as schema_exceptions
from jsonschema import validators

from agent.builtin_tools import GPT_OSS_TOOL_NAMES, tool_for_recipient
from agent.parsing import CallCandidate, Parsed
from agent.parsing.envelope import load_json, split_envelope
from agent.parsing.scanner import is_complete_json
from agent.toolcalls.types import InvalidCall, ToolCall, parameters_schema, tool_functions

_MAX_ERRORS = 3


def parse_arguments(text: str | dict[str, Any] | None) -> Any:
    """The argument value as written, parsed leniently; None when nothing parses.

    Steps: strict JSON; the leading JSON value (trailing junk such as a stray `]`
    dropped); json-repair. A single-element array is unwrapped and a double-encoded
    object decoded.
    """
    if text is None:
        return {}
    value = text if not isinstance(text, str) else _parse(text)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = _parse(value)
    return value


def unwrap_envelope(value: Any) -> tuple[str, Any] | None:
    """(name, arguments object) when `value` is a whole call envelope, else None."""
    found = split_envelope(value, allow_flat=False)
    if found is None:
        return None
    name, inner = found
    if isinstance(inner, str):
        inner = _parse(inner)
    return (name, inner) if isinstance(inner, dict) else None


def repair_arguments(text: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """The arguments object in `text`, repaired and unwrapped; None when there is none."""
    value = parse_arguments(text)
    envelope = unwrap_envelope(value)
    if envelope is not None:
        value = envelope[1]
    return value if isinstance(value, dict) else None


def _parse(text: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return {}
    return load_json(stripped, repaired_containers_only=True)


def _validator(schema: dict[str, Any]) -> Any | None:
    try:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
    except schema_exceptions.SchemaError:
        return None
    return cls(schema)


def validate_arguments(arguments: dict[str, Any], schema: dict[str, Any] | None) -> str | None:
    """None when `arguments` satisfy `schema`; otherwise what is wrong and what is expected."""
    validator = _validator(schema) if schema else None
    if validator is None:
        return None
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    problems = "; ".join(_describe_error(e) for e in errors[:_MAX_ERRORS])
    return f"{problems}. Expected arguments: {describe_schema(schema or {})}."


def fits_schema(arguments: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Strict fit: only declared keys, all required keys present, and valid."""
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    if not set(arguments) <= set(properties) or not set(required) <= set(arguments):
        return False
    validator = _validator(schema)
    return validator is None or validator.is_valid(arguments)


def single_string_parameter(schema: dict[str, Any]) -> str | None:
    """The parameter name when the schema has exactly one property and it is a string."""
    properties = schema.get("properties") or {}
    if len(properties) != 1:
        return None
    name, spec = next(iter(properties.items()))
    return name if isinstance(spec, dict) and spec.get("type") == "string" else None


def _describe_error(error: schema_exceptions.ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    return f"{path}: {error.message}" if path else error.message


def describe_schema(schema: dict[str, Any]) -> str:
    """One line naming each property with its type, e.g. `{city: string (required)}`."""
    properties = schema.get("properties") or {}
    if not properties:
        return "{} (no arguments)"
    required = set(schema.get("required") or [])
    fields = [
        f"{name}: {_type_of(spec)}{' (required)' if name in required else ''}"
        for name, spec in properties.items()
    ]
    return "{" + ", ".join(fields) + "}"


def _type_of(spec: Any) -> str:
    if not isinstance(spec, dict):
        return "any"
    if isinstance(spec.get("enum"), list):
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(spec.get('items'))}"
    return " | ".join(kind) if isinstance(kind, list) else str(kind)


_MARKUP = re.compile(r"<\|[A-Za-z0-9_]*\|>|<\||\|>")
_EDGE_JUNK = " \t\r\n\"'`.,:;!?()[]{}<>"
_SEPARATORS = re.compile(r"[\s\-.]+")


def clean_name(
    raw: str, tools: Sequence[Any] | None = None, arguments: dict[str, Any] | None = None
) -> str:
    """Best tool name for `raw`.

    Markup (`<|channel|>…`), a `to=` prefix, `functions.` and surrounding junk are
    removed; the result is mapped onto an offered tool (exact, then with a glued `json`
    dropped, then ignoring case or `-`/`.`/`_` differences). If no piece names an
    offered tool and exactly one offered tool's schema fits `arguments` (non-empty,
    unless only one tool is offered), that tool is used, except for a name of gpt-oss's own
    tools (`python`, `browser.search`...), which stays itself. Otherwise the cleaned name is
    returned for the caller to report.
    """
    offered = tool_functions(tools)
    pieces = [piece for piece in map(_clean_piece, _MARKUP.split(raw or "")) if piece]
    for piece in pieces:
        match = _match_offered(piece, offered)
        if match is not None:
            return match
    for piece in pieces:  # gpt-oss's own tool, not offered: never another tool in disguise
        if builtin := tool_for_recipient(piece) or (piece if piece in GPT_OSS_TOOL_NAMES else None):
            return builtin
    if arguments is not None and (arguments or len(offered) == 1):
        fitting = [
            name
            for name, function in offered.items()
            if fits_schema(arguments, parameters_schema(function))
        ]
        if len(fitting) == 1:
            return fitting[0]
    return pieces[0] if pieces else ""


def _clean_piece(piece: str) -> str:
    if "to=" in piece:
        piece = piece.rsplit("to=", 1)[1]
    words = piece.strip(_EDGE_JUNK).split()
    if not words:
        return ""
    word = words[0]
    while word.startswith("functions."):
        word = word.removeprefix("functions.")
    return word.strip(_EDGE_JUNK)


def _match_offered(name: str, offered: dict[str, Any]) -> str | None:
    if name in offered:
        return name
    if name.lower().endswith("json") and name[:-4] in offered:
        return name[:-4]
    for key in (str.lower, _loose):
        matches = [tool for tool in offered if key(tool) == key(name)]
        if len(matches) == 1:
            return matches[0]
    return None


def _loose(name: str) -> str:
    return _SEPARATORS.sub("_", name.lower())


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
