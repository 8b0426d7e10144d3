"""What every strategy shares: the reply type, delta forwarding, the chat stream loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk

from agent.dialects import Delta, Parsed
from agent.messages import REASONING, content_text
from agent.toolcalls import InvalidCall, ToolCall, resolve_calls

OnDelta = Callable[[str, str], None]


@dataclass
class RawReply:
    """One upstream reply, cleaned; calls are resolved against the offered tools."""

    content: str = ""
    reasoning: str = ""
    calls: list[ToolCall | InvalidCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: int | str | None = None  # vLLM's: the stop token or string


class PassThrough:
    """A stream parser that leaves text alone (native mode trusts the server's content)."""

    def feed(self, text: str) -> Delta:
        return Delta(content=text)

    def close(self) -> Delta:
        return Delta()


def emit(delta: Delta, on_delta: OnDelta) -> None:
    """Pass a parser delta's visible text on (calls are emitted once checked)."""
    if delta.reasoning:
        on_delta("reasoning", delta.reasoning)
    if delta.content:
        on_delta("content", delta.content)


@dataclass
class Streamed:
    """A streamed chat reply: the merged message and the tool-call fragments in order."""

    message: AIMessageChunk
    call_chunks: list[dict[str, Any]]


async def stream_chat(
    model: Any,
    messages: LanguageModelInput,
    options: dict[str, Any],
    parser: Any,
    on_delta: OnDelta,
) -> Streamed:
    """Stream a chat completion: reasoning deltas go on as they are, content through
    `parser`; the tool-call fragments are kept as sent (see `assemble_calls`)."""
    merged = AIMessageChunk(content="")
    call_chunks: list[dict[str, Any]] = []
    async for chunk in model.astream(messages, **options):
        if reasoning := chunk.additional_kwargs.get(REASONING):
            on_delta("reasoning", reasoning)
        emit(parser.feed(content_text(chunk.content)), on_delta)
        call_chunks += [dict(c) for c in chunk.tool_call_chunks]
        merged = merged + chunk
    emit(parser.close(), on_delta)
    return Streamed(merged, call_chunks)


def usage_of(message: AIMessage) -> dict[str, int]:
    """OpenAI-style token counts of a LangChain reply."""
    usage = message.usage_metadata or {}
    return {
        "prompt_tokens": usage.get("input_tokens", 0),
        "completion_tokens": usage.get("output_tokens", 0),
    }


def finish_of(reason: str | None) -> str:
    """`length` when the token limit cut the reply, else `stop` (calls decide later)."""
    return "length" if reason == "length" else "stop"


def reply_from_parse(
    parsed: Parsed, tools: Sequence[Any], finish: str | None, usage: dict[str, int]
) -> RawReply:
    """A reply from a text parse, its calls resolved and checked against `tools`."""
    calls = resolve_calls(parsed.calls, tools)
    return RawReply(parsed.content or "", parsed.reasoning or "", calls, finish_of(finish), usage)
