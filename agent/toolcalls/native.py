"""Cleaning an assistant message a server already returned in OpenAI fields.

Servers with native tool calling still garble gpt-oss output: markup in names
(`get_weather<|channel|>commentary`, `assistant<|channel|>analysis`), arguments that are
not JSON, calls left as JSON in `content` with `tool_calls: []`, calls written in
reasoning, and harmony markup or `<reasoning>` tags leaking into `content`. This is the
auto-mode path of the service for a whole message: the same `ReplyParser` a stream uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.parsing import ReplyParser
from agent.toolcalls.collect import collect_calls, tail_call_namer
from agent.toolcalls.types import SanitizedMessage, text_of, tool_functions

_REASONING_FIELDS = ("reasoning", "reasoning_content", "thinking")


def sanitize_native(
    message: dict[str, Any], tools: Sequence[Any] | None, *, validate: bool = True
) -> SanitizedMessage:
    """Content, reasoning and calls of an OpenAI-style assistant message, cleaned.

    Reads `content` (string or parts), `reasoning` / `reasoning_content` / `thinking`
    and `tool_calls`; both text fields go through the auto parser, and the calls found
    there join the native ones (resolved: names cleaned, arguments repaired, validated
    when `validate`)."""
    parser = ReplyParser(list(tool_functions(tools)), tail_call=tail_call_namer(tools))
    parser.reasoning(next((text_of(message[f]) for f in _REASONING_FIELDS if message.get(f)), ""))
    parser.content(text_of(message.get("content")))
    parser.close()
    parsed = parser.result()
    calls = collect_calls(parsed, native_calls_of(message), tools, validate=validate)
    return SanitizedMessage(parsed.content, parsed.reasoning, calls)


def native_calls_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    calls = message.get("tool_calls")
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
