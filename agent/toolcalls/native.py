"""Cleaning an assistant message a server already returned in OpenAI fields.

Servers with native tool calling still garble gpt-oss output: markup in names
(`get_weather<|channel|>commentary`, `assistant<|channel|>analysis`), arguments that are
not JSON, calls left as JSON in `content` with `tool_calls: []`, calls streamed as
reasoning, and harmony markup or `<reasoning>` tags leaking into `content`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agent.parsing import CallCandidate, Parsed, detect_dialect, get_dialect, reasoning_opener
from agent.parsing.harmony import HarmonyStream
from agent.toolcalls.repair import fits_schema
from agent.toolcalls.resolve import resolve_call, resolve_calls
from agent.toolcalls.types import (
    InvalidCall,
    SanitizedMessage,
    ToolCall,
    parameters_schema,
    text_of,
    tool_functions,
)

_REASONING_FIELDS = ("reasoning", "reasoning_content", "thinking")
_TAIL_WINDOW = 4000


def sanitize_native(
    message: dict[str, Any], tools: Sequence[Any] | None, *, validate: bool = True
) -> SanitizedMessage:
    """Content, reasoning and calls of an OpenAI-style assistant message, cleaned.

    Reads `content` (string or parts), `reasoning` / `reasoning_content` / `thinking`
    and `tool_calls`. Native calls are resolved (names cleaned, arguments repaired,
    validated when `validate`). Content is parsed with the detected dialect, so harmony
    markup, `<reasoning>`/`<think>` tags and calls written as text are taken out of it;
    reasoning holding harmony markup is parsed too. Calls found in text are added
    unless the same call came natively. With no call and no content, a JSON object
    ending the reasoning that fits exactly one tool's schema becomes the call.
    """
    names = list(tool_functions(tools))
    content = text_of(message.get("content"))
    reasoning = next((text_of(message.get(f)) for f in _REASONING_FIELDS if message.get(f)), "")
    calls = [_resolve_native(call, tools, validate) for call in _native_calls(message)]
    from_content = parse_content(content, names)
    from_reasoning = _parse_reasoning(reasoning, names)
    content = _join(from_content.content, None if content else from_reasoning.content)
    reasoning = _join(from_reasoning.reasoning, from_content.reasoning)
    found = resolve_calls([*from_content.calls, *from_reasoning.calls], tools, validate=validate)
    calls += [call for call in found if not any(_same(call, known) for known in calls)]
    if not calls and not content and reasoning:
        tail_call, reasoning = _call_at_reasoning_end(reasoning, tools)
        calls += [tail_call] if tail_call else []
    return SanitizedMessage(content or None, reasoning or None, calls)


def _native_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _resolve_native(
    call: dict[str, Any], tools: Sequence[Any] | None, validate: bool
) -> ToolCall | InvalidCall:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    arguments = function.get("arguments")
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    candidate = CallCandidate(str(function.get("name") or ""), text)
    call_id = call.get("id") if isinstance(call.get("id"), str) else None
    return resolve_call(candidate, tools, validate=validate, call_id=call_id)


def parse_content(content: str, names: list[str]) -> Parsed:
    """Markup in content parsed away. Bare JSON counts as a call only when it is the
    whole content: a server without a tool parser returns exactly that (C10), while
    JSON inside prose is more likely an example shown to the user."""
    if not content:
        return Parsed(None, None, [])
    dialect = detect_dialect(content, names)
    if dialect != "harmony":  # `…</think>` after a `<think>` the chat template wrote
        content = reasoning_opener(content) + content
    parsed = get_dialect(dialect).parse(content, names)
    if dialect == "json" and parsed.calls and parsed.content:
        return get_dialect("json").parse(content, [])
    return parsed


def _parse_reasoning(reasoning: str, names: list[str]) -> Parsed:
    """Reasoning that holds harmony markup: unlabelled text stays reasoning."""
    if not reasoning or detect_dialect(reasoning, names) != "harmony":
        return Parsed(None, reasoning or None, [])
    stream = HarmonyStream(names, unlabelled="reasoning")
    stream.feed(reasoning)
    stream.close()
    return stream.result()


def _call_at_reasoning_end(
    reasoning: str, tools: Sequence[Any] | None
) -> tuple[ToolCall | None, str]:
    """A call left as a bare JSON object at the very end of reasoning (vLLM streamed
    analysis-channel calls as reasoning), when exactly one offered tool's schema fits."""
    text = reasoning.rstrip()
    if not text.endswith("}"):
        return None, reasoning
    decoder = json.JSONDecoder()
    window_start = max(0, len(text) - _TAIL_WINDOW)
    for start in (i for i in range(window_start, len(text)) if text[i] == "{"):
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if end != len(text):
            continue
        fitting = [
            name
            for name, function in tool_functions(tools).items()
            if isinstance(value, dict) and value and fits_schema(value, parameters_schema(function))
        ]
        if len(fitting) == 1:
            return ToolCall(fitting[0], value), text[:start].rstrip()
        break
    return None, reasoning


def _same(a: ToolCall | InvalidCall, b: ToolCall | InvalidCall) -> bool:
    args_a = a.arguments if isinstance(a, ToolCall) else a.raw_arguments
    args_b = b.arguments if isinstance(b, ToolCall) else b.raw_arguments
    return a.name == b.name and args_a == args_b


def _join(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)
