"""JSON the service can hold safely: no NaN or Infinity, no lone surrogate, bounded nesting.

Python's `json` accepts `NaN`, `1e999` (infinity) and `"\\ud800"`, none of which can be
written back out (to the model server, the database, a response), and recurses once per
level of nesting. orjson refuses all of them (and nesting past 1024 levels), about ten
times faster: a body is parsed by orjson, and only one it refuses is parsed again by
`json` with checks, to say what is wrong and where (orjson names only a position).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from agent.errors import AgentError

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
