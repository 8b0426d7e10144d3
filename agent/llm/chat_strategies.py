"""The chat-endpoint strategies: `auto`, `native` and `prompt`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.llm.call import ModelCall, OnDelta
from agent.llm.chat_completion import chat_answer, reply_from
from agent.llm.http import ModelServer
from agent.llm.reply import ModelReply
from agent.llm.wire import chat_messages, request_body
from agent.messages import to_openai
from agent.parsing import CALL_TAG, TOOL_MESSAGE, ReplyParser
from agent.prompts.hermes import render_hermes_messages
from agent.toolcalls import tail_call_namer, tool_functions


async def auto_reply(server: ModelServer, call: ModelCall, on_delta: OnDelta) -> ModelReply:
    """`tools` sent upstream; the server's calls cleaned, and calls or markup left in
    `content` or the reasoning field recovered by the auto parser."""
    json_answer = asks_for_json(call.params)
    parser = ReplyParser(
        list(tool_functions(call.tools)),
        tail_call=None if json_answer else tail_call_namer(call.tools),
        reasoning_opened=call.reasoning_opened,
        json_calls=not json_answer,
        call_positions={TOOL_MESSAGE},  # gpt-oss's own call markup leaked into content
    )
    return await _native_tools(server, call, on_delta, parser)


def asks_for_json(params: dict[str, Any]) -> bool:
    """Whether the client asked for a JSON answer (`response_format`): then a bare JSON
    object in content is that answer, streamed as it comes, not a call written as text."""
    sent = {**params, **(params.get("extra_body") or {})}
    kind = (sent.get("response_format") or {}).get("type")
    return kind in ("json_object", "json_schema")


async def native_reply(server: ModelServer, call: ModelCall, on_delta: OnDelta) -> ModelReply:
    """`tools` sent upstream; the server's calls cleaned, its text passed on as sent."""
    parser = ReplyParser(dialect=None, reasoning_dialect=None)
    return await _native_tools(server, call, on_delta, parser)


async def prompt_reply(server: ModelServer, call: ModelCall, on_delta: OnDelta) -> ModelReply:
    """No `tools` upstream: the system prompt describes them (gpt-oss's own tools as
    ordinary functions); `<tool_call>` text is parsed."""
    plain = render_hermes_messages([to_openai(m) for m in call.messages], call.tools)
    # auto, not just hermes: a gpt-oss server may still answer in (stripped) harmony
    parser = ReplyParser(
        list(tool_functions(call.tools)),
        reasoning_dialect=None,
        call_positions={CALL_TAG, TOOL_MESSAGE},
    )
    body = request_body(server.model, call.params, call.stream, messages=plain)
    answer = await chat_answer(server, body, parser, on_delta)
    return reply_from(parser, answer.native_calls, call.tools, answer.finish_reason, answer.usage)


async def _native_tools(
    server: ModelServer, call: ModelCall, on_delta: OnDelta, parser: ReplyParser
) -> ModelReply:
    """gpt-oss's own tools are offered as ordinary functions."""
    offered = {"tools": call.tools, **call.bind} if call.tools else {}
    sent = chat_messages(call.messages, server.reasoning_field)
    body = request_body(server.model, call.params, call.stream, messages=sent, **offered)
    answer = await chat_answer(server, body, parser, on_delta)
    reply = reply_from(parser, answer.native_calls, call.tools, answer.finish_reason, answer.usage)
    return replace(reply, stop_reason=answer.stop_reason)
