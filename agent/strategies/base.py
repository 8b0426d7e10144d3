"""What every strategy shares: the chat stream loop and turning a parse into a reply.

A strategy feeds the upstream's text fields to a `ReplyParser` as they arrive and passes
each delta it returns on to the client; the reply is built from that parser's result, so
the stored reply is exactly what was streamed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk

from agent.messages import REASONING, content_text
from agent.model import NATIVE_CALLS
from agent.parsing import Delta, ReplyParser
from agent.reply import ModelReply
from agent.toolcalls import collect_calls

OnDelta = Callable[[str, str], None]
"""Receives ("content" | "reasoning", text) as the reply forms."""


def emit(delta: Delta, on_delta: OnDelta) -> None:
    """Pass a parser delta's visible text on (calls are emitted once checked)."""
    if delta.reasoning:
        on_delta("reasoning", delta.reasoning)
    if delta.content:
        on_delta("content", delta.content)


@dataclass
class ChatAnswer:
    """A chat reply as LangChain gave it, and the server's tool calls in the model's order."""

    message: AIMessage
    native_calls: list[dict[str, Any]]


async def chat_answer(
    model: Any,
    messages: LanguageModelInput,
    options: dict[str, Any],
    parser: ReplyParser,
    on_delta: OnDelta,
) -> ChatAnswer:
    """One chat completion, streamed or not, its text fields run through `parser`."""
    if not options.pop("stream", False):
        message = await model.ainvoke(messages, **options)
        emit(parser.reasoning(message.additional_kwargs.get(REASONING, "")), on_delta)
        emit(parser.content(content_text(message.content)), on_delta)
        emit(parser.close(), on_delta)
        return ChatAnswer(message, native_calls(message))
    merged = AIMessageChunk(content="")
    call_chunks: list[dict[str, Any]] = []
    async for chunk in model.astream(messages, **options):
        emit(parser.reasoning(chunk.additional_kwargs.get(REASONING, "")), on_delta)
        emit(parser.content(content_text(chunk.content)), on_delta)
        call_chunks += [dict(c) for c in chunk.tool_call_chunks]
        merged = merged + chunk
    emit(parser.close(), on_delta)
    return ChatAnswer(merged, assemble_calls(call_chunks))


def reply_from(
    parser: ReplyParser,
    native: Sequence[dict[str, Any]],
    tools: Sequence[Any],
    finish: str | None,
    usage: dict[str, int],
) -> ModelReply:
    """The reply: the parser's text, the calls checked against `tools` (see the truncation
    rule in `collect_calls`)."""
    parsed = parser.result()
    cut_off = finish == "length"
    calls = collect_calls(parsed, native, tools, cut_off=cut_off)
    finish_reason = "length" if cut_off else "stop"
    return ModelReply(parsed.content or "", parsed.reasoning or "", calls, finish_reason, usage)


def usage_of(message: AIMessage) -> dict[str, int]:
    """OpenAI-style token counts of a LangChain reply."""
    usage = message.usage_metadata or {}
    return {
        "prompt_tokens": usage.get("input_tokens", 0),
        "completion_tokens": usage.get("output_tokens", 0),
    }


def assemble_calls(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Streamed tool-call fragments joined per call, as OpenAI dicts.

    Fragments are joined by `index`, except that a fragment carrying a new `id` starts a
    new call: some Ollama-compatible servers send every call of a batch with index 0.
    """
    calls: list[dict[str, Any]] = []
    open_calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        index, call_id = chunk.get("index") or 0, chunk.get("id")
        call = open_calls.get(index)
        if call is None or (call_id and call["id"] and call_id != call["id"]):
            call = open_calls[index] = {"id": call_id, "name": "", "args": ""}
            calls.append(call)
        call["id"] = call["id"] or call_id
        call["name"] += chunk.get("name") or ""
        call["args"] += chunk.get("args") or ""
    return [_raw(c["id"], c["name"], c["args"]) for c in calls]


def native_calls(message: AIMessage) -> list[dict[str, Any]]:
    """The server's tool calls of a full response as OpenAI dicts, arguments as sent, in the
    order the server sent them (see `ReasoningChatOpenAI`, which keeps that order)."""
    raw = message.additional_kwargs.get(NATIVE_CALLS)
    if isinstance(raw, list):
        return [c for c in raw if isinstance(c, dict)]
    calls = [_raw(c.get("id"), c["name"], json.dumps(c["args"])) for c in message.tool_calls]
    calls += [
        _raw(c.get("id"), c.get("name"), c.get("args") or "") for c in message.invalid_tool_calls
    ]
    return calls


def _raw(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    function = {"name": name or "", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}
