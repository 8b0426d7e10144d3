"""The chat-endpoint strategies: `auto`, `native` and `prompt`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.messages import BaseMessage

from agent.messages import to_openai
from agent.model import chat_messages, request_body
from agent.parsing import CALL_TAG, TOOL_MESSAGE, ReplyParser
from agent.prompts.hermes import render_hermes_messages
from agent.reply import ModelReply
from agent.strategies.base import OnDelta, chat_answer, reply_from
from agent.toolcalls import tail_call_namer, tool_functions
from agent.upstream_http import ModelServer


async def auto_reply(
    server: ModelServer,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> ModelReply:
    """`tools` sent upstream; the server's calls cleaned, and calls or markup left in
    `content` or the reasoning field recovered by the auto parser."""
    json_answer = asks_for_json(options)
    parser = ReplyParser(
        list(tool_functions(tools)),
        tail_call=None if json_answer else tail_call_namer(tools),
        reasoning_opened=options.pop("reasoning_opened", False),
        json_calls=not json_answer,
        call_positions={TOOL_MESSAGE},  # gpt-oss's own call markup leaked into content
    )
    return await _native_tools(server, messages, tools, options, on_delta, parser)


def asks_for_json(options: dict[str, Any]) -> bool:
    """Whether the client asked for a JSON answer (`response_format`): then a bare JSON
    object in content is that answer, streamed as it comes, not a call written as text."""
    sent = {**options, **(options.get("extra_body") or {})}
    kind = (sent.get("response_format") or {}).get("type")
    return kind in ("json_object", "json_schema")


async def native_reply(
    server: ModelServer,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> ModelReply:
    """`tools` sent upstream; the server's calls cleaned, its text passed on as sent."""
    parser = ReplyParser(dialect=None, reasoning_dialect=None)
    return await _native_tools(server, messages, tools, options, on_delta, parser)


async def prompt_reply(
    server: ModelServer,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> ModelReply:
    """No `tools` upstream: the system prompt describes them; `<tool_call>` text is parsed."""
    plain = render_hermes_messages([to_openai(m) for m in messages], tools)
    options.pop("bind", None)
    options.pop("reasoning_opened", None)
    options.pop("builtin_tools", None)  # offered as ordinary functions
    stream = options.pop("stream", False)
    # auto, not just hermes: a gpt-oss server may still answer in (stripped) harmony
    parser = ReplyParser(
        list(tool_functions(tools)), reasoning_dialect=None, call_positions={CALL_TAG, TOOL_MESSAGE}
    )
    body = request_body(server.model, options, stream, messages=plain)
    answer = await chat_answer(server, body, parser, on_delta)
    return reply_from(parser, answer.native_calls, tools, answer.finish_reason, answer.usage)


async def _native_tools(
    server: ModelServer,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
    parser: ReplyParser,
) -> ModelReply:
    bind = options.pop("bind", {})
    options.pop("reasoning_opened", None)
    options.pop("builtin_tools", None)  # offered as ordinary functions
    stream = options.pop("stream", False)
    offered = {"tools": tools, **bind} if tools else {}
    sent = chat_messages(messages, server.reasoning_field)
    body = request_body(server.model, options, stream, messages=sent, **offered)
    answer = await chat_answer(server, body, parser, on_delta)
    reply = reply_from(parser, answer.native_calls, tools, answer.finish_reason, answer.usage)
    return replace(reply, stop_reason=answer.stop_reason)
