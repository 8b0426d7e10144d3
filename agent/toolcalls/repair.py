"""Recovering argument objects from what models write, and checking them against schemas."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import exceptions as schema_exceptions
from jsonschema import validators

from agent.parsing.envelope import load_json, split_envelope

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
