"""OpenAI function tools as the harmony `namespace functions { ... }` TypeScript block.

Follows the rendering of the openai-harmony library (gpt-oss.md §2.3): descriptions as
`//` comments above fields, `?` for optional fields, enums as unions, `// default:`
trailing comments, `oneOf` as `|` lines, nullable as `| null`, `() => any` when a
function takes no arguments, one empty line after each function.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_NESTED_INDENT = "    "


def render_tools_section(functions: Mapping[str, Mapping[str, Any]]) -> str:
    """`# Tools` section of the developer message for {name: OpenAI function}; "" if none."""
    if not functions:
        return ""
    lines = ["## functions\n", "namespace functions {\n"]
    for name, function in functions.items():
        lines += [f"// {line}" for line in str(function.get("description") or "").splitlines()]
        parameters = function.get("parameters")
        if isinstance(parameters, dict) and parameters.get("properties"):
            lines.append(f"type {name} = (_: {schema_to_typescript(parameters, '')}) => any;\n")
        else:
            lines.append(f"type {name} = () => any;\n")
    lines.append("} // namespace functions")
    return "# Tools\n\n" + "\n".join(lines)


def schema_to_typescript(schema: Any, indent: str) -> str:
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("oneOf"), list):
        return "".join(f"\n{indent} | {_variant(v, indent)}" for v in schema["oneOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join("number" if k == "integer" else str(k) for k in kind) or "any"
    if kind == "object":
        return _object(schema, indent)
    if kind == "string":
        values = [v for v in schema.get("enum") or [] if isinstance(v, str)]
        return " | ".join(f'"{v}"' for v in values) if values else "string"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        items = schema.get("items")
        return f"{schema_to_typescript(items, indent)}[]" if items else "Array<any>"
    return "any"


def _object(schema: dict[str, Any], indent: str) -> str:
    required = set(schema.get("required") or [])
    lines = ["{"]
    for key, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        lines += _comments_above(spec, indent)
        optional = "" if key in required else "?"
        if isinstance(spec.get("oneOf"), list):
            variants = "".join(f"{indent} | {_variant(v, indent)}\n" for v in spec["oneOf"])
            lines.append(f"{indent}{key}{optional}:\n{variants}{indent},")
            continue
        type_text = _nullable(spec, schema_to_typescript(spec, indent + _NESTED_INDENT))
        lines.append(f"{indent}{key}{optional}: {type_text},{_default_comment(spec)}")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def _comments_above(spec: dict[str, Any], indent: str) -> list[str]:
    lines = []
    if isinstance(spec.get("title"), str):
        lines += [f"{indent}// {spec['title']}", f"{indent}//"]
    if isinstance(spec.get("description"), str):
        lines.append(f"{indent}// {spec['description']}")
    examples = [e for e in spec.get("examples") or [] if isinstance(e, str)]
    if examples:
        lines += [f"{indent}// Examples:", *(f'{indent}// - "{e}"' for e in examples)]
    return lines


def _variant(variant: Any, indent: str) -> str:
    text = _nullable(variant, schema_to_typescript(variant, indent + "   "))
    if isinstance(variant, dict) and isinstance(variant.get("description"), str):
        text += f" // {variant['description']}"
    return text


def _nullable(spec: Any, type_text: str) -> str:
    if isinstance(spec, dict) and spec.get("nullable") is True and "null" not in type_text:
        return f"{type_text} | null"
    return type_text


def _default_comment(spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return ""
    default = spec["default"]
    if isinstance(default, str):
        return f" // default: {default}" if spec.get("enum") else f' // default: "{default}"'
    return f" // default: {json.dumps(default, separators=(',', ':'))}"
