"""One model call: send the conversation upstream, get back content, reasoning and calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from agent.errors import upstream_error
from agent.messages import REASONING, content_text
from agent.model import ReasoningChatOpenAI
from agent.settings import ToolCallMode

OnDelta = Callable[[str, str], None]
"""Receives ("content" | "reasoning", text) as the reply forms."""


@dataclass
class ModelCall:
    """Everything one upstream call needs."""

    messages: list[BaseMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    mode: ToolCallMode = ToolCallMode.AUTO


@dataclass
class ModelReply:
    """A model reply after tool calls were detected, cleaned and checked."""

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)


async def call_model(
    llm: ReasoningChatOpenAI, call: ModelCall, on_delta: OnDelta | None = None
) -> ModelReply:
    """Run one model call with the configured strategy; upstream failures -> UpstreamError."""
    try:
        message = await _native(llm, call, on_delta or _ignore)
    except openai.OpenAIError as exc:
        raise upstream_error(exc, str(llm.openai_api_base)) from exc
    return _reply_from_message(message)


def _ignore(kind: str, text: str) -> None:
    return None


async def _native(llm: ReasoningChatOpenAI, call: ModelCall, on_delta: OnDelta) -> AIMessage:
    model: Any = llm
    if call.tools and call.tool_choice != "none":
        model = llm.bind_tools(
            call.tools, tool_choice=call.tool_choice, parallel_tool_calls=call.parallel_tool_calls
        )
    if not call.stream:
        return await model.ainvoke(call.messages, **call.params)
    merged: AIMessageChunk | None = None
    async for chunk in model.astream(call.messages, **call.params):
        if text := content_text(chunk.content):
            on_delta("content", text)
        if reasoning := chunk.additional_kwargs.get(REASONING):
            on_delta("reasoning", reasoning)
        merged = chunk if merged is None else merged + chunk
    return merged or AIMessageChunk(content="")


def _reply_from_message(message: AIMessage) -> ModelReply:
    usage = message.usage_metadata or {}
    calls = [dict(call) for call in message.tool_calls]
    return ModelReply(
        content=content_text(message.content),
        reasoning=message.additional_kwargs.get(REASONING, ""),
        tool_calls=calls,
        finish_reason="tool_calls" if calls else _finish_reason(message),
        usage={
            "prompt_tokens": usage.get("input_tokens", 0),
            "completion_tokens": usage.get("output_tokens", 0),
        },
    )


def _finish_reason(message: AIMessage) -> str:
    reason = message.response_metadata.get("finish_reason") or "stop"
    return "length" if reason == "length" else "stop"
