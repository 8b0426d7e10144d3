"""What every strategy shares: the chat stream read through the reply parser, and turning
a parse into a reply.

A strategy feeds the upstream's text fields to a `ReplyParser` as they arrive and yields
the deltas it returns; the reply is built from that parser's result, so the stored reply is
exactly what was streamed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.llm.http import ModelServer, post_json, post_stream
from agent.llm.step_io import Deltas, ModelReply
from agent.llm.wire import (
    first_choice,
    list_field,
    object_field,
    reasoning_from,
    text_field,
    usage_of,
)
from agent.parsing import Delta, ReplyParser
from agent.toolcalls import collect_calls

CHAT_PATH = "/chat/completions"


def add_text(delta: Delta, deltas: Deltas) -> None:
    """A parser delta's visible text, added to `deltas` (calls are given once checked)."""
    if delta.reasoning:
        deltas.append(("reasoning", delta.reasoning))
    if delta.content:
        deltas.append(("content", delta.content))


@dataclass
class ChatAnswer:
    """What a chat reply says besides its text: the server's tool calls in the model's
    order (arguments as sent), why it ended, and its token counts."""

    native_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    stop_reason: int | str | None = None
    """vLLM's `stop_reason`: the stop token or string that ended the reply, if sent."""
    usage: dict[str, int] = field(default_factory=dict)


async def chat_answer(
    server: ModelServer, body: dict[str, Any], parser: ReplyParser
) -> AsyncIterator[Deltas | ChatAnswer]:
    """One chat completion, streamed or not, its text fields run through `parser`: the
    deltas of each network read, then the answer."""
    deltas: Deltas = []
    if not body["stream"]:
        reply = await post_json(server, CHAT_PATH, body)
        choice = first_choice(reply) or {}
        message = object_field(choice, "message")
        add_text(parser.reasoning(reasoning_from(message)), deltas)
        add_text(parser.content(text_field(message, "content")), deltas)
        add_text(parser.close(), deltas)
        if deltas:
            yield deltas
        calls = list_field(message, "tool_calls")
        yield ChatAnswer(
            calls, choice.get("finish_reason"), choice.get("stop_reason"), usage_of(reply)
        )
        return
    read = _ChatRead(parser)
    async with contextlib.aclosing(post_stream(server, CHAT_PATH, body)) as reads:
        async for events in reads:
            deltas = []
            for event in events:
                read.event(event, deltas)
            if deltas:
                yield deltas
    deltas = []
    add_text(parser.close(), deltas)
    if deltas:
        yield deltas
    read.answer.native_calls = assemble_calls(read.call_chunks)
    yield read.answer


class _ChatRead:
    """Runs each stream event's text through the parser; keeps the call fragments, the
    finish and stop reasons and the usage the events carry."""

    def __init__(self, parser: ReplyParser) -> None:
        self.parser = parser
        self.call_chunks: list[dict[str, Any]] = []
        self.answer = ChatAnswer(usage=usage_of({}))

    def event(self, event: dict[str, Any], deltas: Deltas) -> None:
        choice = first_choice(event)
        if choice is not None:
            delta = object_field(choice, "delta")
            if reasoning := reasoning_from(delta):
                add_text(self.parser.reasoning(reasoning), deltas)
            if content := text_field(delta, "content"):
                add_text(self.parser.content(content), deltas)
            if "tool_calls" in delta:
                self.call_chunks += [_call_chunk(c) for c in list_field(delta, "tool_calls")]
            self.answer.finish_reason = choice.get("finish_reason") or self.answer.finish_reason
            if choice.get("stop_reason") is not None:
                self.answer.stop_reason = choice["stop_reason"]
        if event.get("usage"):
            self.answer.usage = usage_of(event)


def _call_chunk(delta: dict[str, Any]) -> dict[str, Any]:
    function = object_field(delta, "function")
    return {
        "index": delta.get("index"),
        "id": delta.get("id"),
        "name": function.get("name"),
        "args": function.get("arguments"),
    }


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


def _raw(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    function = {"name": name or "", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}
