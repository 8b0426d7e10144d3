"""A whole OpenAI-style assistant message through the service's reply rules, for tests.

The service never sees whole messages this way (it feeds a stream to `ReplyParser` and
builds the reply with `collect_calls`); this composes the same two pieces so that corpus
records and garbled server messages can be checked one message at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.parsing import ReplyParser
from agent.toolcalls import InvalidCall, ToolCall, collect_calls, tail_call_namer, tool_functions
from agent.toolcalls.types import text_of


@dataclass(frozen=True)
class SanitizedMessage:
    """An upstream assistant message after cleaning: text without markup, usable calls."""

    content: str | None
    reasoning: str | None
    tool_calls: list[ToolCall | InvalidCall]


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
