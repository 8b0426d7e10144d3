"""`prompt` mode: tools described in the system prompt (Hermes), the reply parsed as text."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from agent.messages import REASONING, content_text, to_openai
from agent.model import ReasoningChatOpenAI
from agent.parsing import get_dialect
from agent.prompts.hermes import render_hermes_messages
from agent.strategies.base import OnDelta, RawReply, reply_from_parse, stream_chat, usage_of
from agent.toolcalls import tool_functions


async def prompt_reply(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> RawReply:
    """No `tools` upstream: the system prompt describes them; `<tool_call>` text is parsed."""
    plain = render_hermes_messages([to_openai(m) for m in messages], tools)
    parser = get_dialect("hermes").stream(list(tool_functions(tools)))
    options.pop("bind", None)
    if options.pop("stream"):
        message = (await stream_chat(llm, plain, options, parser, on_delta)).message
    else:
        message = await llm.ainvoke(plain, **options)
        parser.feed(content_text(message.content))
        parser.close()
    finish = message.response_metadata.get("finish_reason")
    reply = reply_from_parse(parser.result(), tools, finish, usage_of(message))
    native_reasoning = message.additional_kwargs.get(REASONING, "")
    reply.reasoning = "\n".join(r for r in (native_reasoning, reply.reasoning) if r)
    return reply
