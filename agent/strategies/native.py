"""Native tool calling (`native` and `auto` modes)."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent.autostream import AutoStream
from agent.messages import REASONING, content_text
from agent.model import ReasoningChatOpenAI
from agent.strategies.base import OnDelta, PassThrough, RawReply, finish_of, stream_chat, usage_of
from agent.toolcalls import sanitize_native, tool_functions


async def native_reply(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
    *,
    recover_from_text: bool = True,
) -> RawReply:
    """Native tool calling; names and arguments are always sanitised. With
    `recover_from_text` (auto mode) calls and markup left in content/reasoning are
    recovered too; without it (native mode) the text is passed through as sent."""
    bind = options.pop("bind", {})
    model: Any = llm.bind_tools(tools, **bind) if tools else llm
    if options.pop("stream"):
        parser = AutoStream(list(tool_functions(tools))) if recover_from_text else PassThrough()
        streamed = await stream_chat(model, messages, options, parser, on_delta)
        message, calls = streamed.message, assemble_calls(streamed.call_chunks)
    else:
        message = await model.ainvoke(messages, **options)
        calls = native_calls(message)
    text = {
        "content": content_text(message.content),
        REASONING: message.additional_kwargs.get(REASONING, ""),
    }
    if not recover_from_text:
        clean = sanitize_native({"tool_calls": calls}, tools)
        content, reasoning = text["content"], text[REASONING]
    else:
        clean = sanitize_native({**text, "tool_calls": calls}, tools)
        content, reasoning = clean.content or "", clean.reasoning or ""
    finish = finish_of(message.response_metadata.get("finish_reason"))
    stop_reason = message.response_metadata.get("stop_reason")
    return RawReply(content, reasoning, clean.tool_calls, finish, usage_of(message), stop_reason)


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
    """The server's tool calls of a full response as OpenAI dicts, arguments as sent."""
    calls = [_raw(c.get("id"), c["name"], json.dumps(c["args"])) for c in message.tool_calls]
    calls += [
        _raw(c.get("id"), c.get("name"), c.get("args") or "") for c in message.invalid_tool_calls
    ]
    return calls


def _raw(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    function = {"name": name or "", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}
