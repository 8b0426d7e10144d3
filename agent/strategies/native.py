"""Native tool calling (`native` and `auto` modes)."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

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
        message = await stream_chat(model, messages, options, parser, on_delta)
    else:
        message = await model.ainvoke(messages, **options)
    text = {
        "content": content_text(message.content),
        REASONING: message.additional_kwargs.get(REASONING, ""),
    }
    calls = native_calls(message)
    if not recover_from_text:
        clean = sanitize_native({"tool_calls": calls}, tools)
        content, reasoning = text["content"], text[REASONING]
    else:
        clean = sanitize_native({**text, "tool_calls": calls}, tools)
        content, reasoning = clean.content or "", clean.reasoning or ""
    finish = finish_of(message.response_metadata.get("finish_reason"))
    return RawReply(content, reasoning, clean.tool_calls, finish, usage_of(message))


def native_calls(message: AIMessage) -> list[dict[str, Any]]:
    """The server's tool calls as OpenAI dicts, arguments as the text it sent."""
    if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
        return [
            _raw(c.get("id"), c.get("name"), c.get("args") or "") for c in message.tool_call_chunks
        ]
    calls = [_raw(c.get("id"), c["name"], json.dumps(c["args"])) for c in message.tool_calls]
    calls += [
        _raw(c.get("id"), c.get("name"), c.get("args") or "") for c in message.invalid_tool_calls
    ]
    return calls


def _raw(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    function = {"name": name or "", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}
