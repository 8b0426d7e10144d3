"""One model step: pick the strategy, apply tool_choice, give back checked tool calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent import capabilities
from agent.errors import upstream_error
from agent.model import ReasoningChatOpenAI
from agent.settings import ToolCallMode
from agent.strategies import RawReply, harmony_reply, native_reply, prompt_reply
from agent.toolcalls import ToolCall

OnDelta = Callable[[str, str], None]
"""Receives ("content" | "reasoning", text) as the reply forms."""

REQUIRED_NUDGE = "Answer by calling {which} now, with arguments that fit its schema."


@dataclass
class ModelCall:
    """Everything one model step needs."""

    messages: list[BaseMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    mode: ToolCallMode = ToolCallMode.AUTO
    reasks: int = 2


@dataclass
class ModelReply:
    """A model reply whose tool calls were detected, cleaned and checked.

    `tool_calls` are LangChain tool calls (id, name, args); `errors` maps the id of each
    unusable call to what the model must be told about it.
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)


async def call_model(
    llm: ReasoningChatOpenAI, call: ModelCall, on_delta: OnDelta | None = None
) -> ModelReply:
    """Run one step; upstream failures become UpstreamError with the right status."""
    try:
        raw = await _with_reasks(llm, call, on_delta or _ignore)
    except openai.OpenAIError as exc:
        raise upstream_error(exc, str(llm.openai_api_base)) from exc
    return _checked(raw, call)


def _ignore(kind: str, text: str) -> None:
    return None


async def _with_reasks(llm: ReasoningChatOpenAI, call: ModelCall, on_delta: OnDelta) -> RawReply:
    """Ask again (without storing the nudge) while tool_choice demands a call it lacks.

    When a call is demanded, an attempt's deltas are held until it is kept, so a
    streamed reply shows only the answer that is returned (and stored)."""
    messages = list(call.messages)
    tools = [] if call.tool_choice == "none" else call.tools
    demanded = call.tool_choice == "required" or isinstance(call.tool_choice, dict)
    for attempt in range(call.reasks + 1):
        held: list[tuple[str, str]] = []
        sink = _holder(held) if demanded else on_delta
        raw = await _once(llm, call, messages, tools, sink)
        which = _missing_required(raw, call.tool_choice)
        if which is None or attempt == call.reasks:
            for kind, text in held:
                on_delta(kind, text)
            return raw
        messages += [
            AIMessage(content=raw.content),
            HumanMessage(REQUIRED_NUDGE.format(which=which)),
        ]
    return raw


def _holder(held: list[tuple[str, str]]) -> OnDelta:
    def hold(kind: str, text: str) -> None:
        held.append((kind, text))

    return hold


async def _once(
    llm: ReasoningChatOpenAI,
    call: ModelCall,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    on_delta: OnDelta,
) -> RawReply:
    options: dict[str, Any] = {**call.params, "stream": call.stream}
    base_url = str(llm.openai_api_base)
    mode = call.mode
    if mode is ToolCallMode.AUTO and not capabilities.backend(base_url).native_tools:
        mode = capabilities.fallback_mode(llm.upstream_kind)
    if mode is ToolCallMode.HARMONY:
        return await _harmony(llm, messages, tools, options, on_delta)
    if mode is ToolCallMode.PROMPT:
        return await prompt_reply(llm, messages, tools, options, on_delta)
    bind = {"tool_choice": call.tool_choice, "parallel_tool_calls": call.parallel_tool_calls}
    options["bind"] = {key: value for key, value in bind.items() if value is not None}
    recover = mode is ToolCallMode.AUTO
    try:
        raw = await native_reply(llm, messages, tools, options, on_delta, recover_from_text=recover)
    except openai.BadRequestError as exc:
        if not (recover and tools and capabilities.refuses_tools(exc)):
            raise
        why = f"it refused the tools: {capabilities.first_line(exc)}"
        return await _fall_back(llm, call, messages, tools, on_delta, why)
    if recover and tools and capabilities.swallowed_call(raw.stop_reason, raw.calls):
        why = "it ended a reply on <|call|> but sent no tool call"
        return await _fall_back(llm, call, messages, tools, on_delta, why)
    return raw


async def _fall_back(
    llm: ReasoningChatOpenAI,
    call: ModelCall,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    on_delta: OnDelta,
    why: str,
) -> RawReply:
    """Redo this step with the strategy `auto` now uses for this backend."""
    mode = capabilities.forget_native_tools(str(llm.openai_api_base), llm.upstream_kind, why)
    return await _once(llm, replace(call, mode=mode), messages, tools, on_delta)


async def _harmony(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> RawReply:
    """Raw completions default to 16 tokens (vLLM keeps that OpenAI default): without the
    client's max_tokens, allow up to the context length the server reports."""
    if options.get("max_tokens") is None:
        key = llm.openai_api_key.get_secret_value() if llm.openai_api_key else None
        length = await capabilities.context_length(str(llm.openai_api_base), llm.model_name, key)
        if length:
            options["max_tokens"] = length
    return await harmony_reply(llm, messages, tools, options, on_delta)


def _missing_required(raw: RawReply, choice: str | dict[str, Any] | None) -> str | None:
    """Which tool the reply should have called but did not, for `required` / a named tool."""
    valid = [c for c in raw.calls if isinstance(c, ToolCall)]
    if choice == "required" and not valid:
        return "one of the tools"
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        if not any(c.name == name for c in valid):
            return f"the tool `{name}`"
    return None


def _checked(raw: RawReply, call: ModelCall) -> ModelReply:
    calls = [] if call.tool_choice == "none" else raw.calls
    if call.parallel_tool_calls is False:
        calls = calls[:1]
    reply = ModelReply(raw.content, raw.reasoning, usage=raw.usage)
    for found in calls:
        call_id = found.id or f"call_{uuid.uuid4().hex[:24]}"
        if isinstance(found, ToolCall):
            reply.tool_calls.append({"id": call_id, "name": found.name, "args": found.arguments})
            continue
        args = found.arguments if found.arguments is not None else {"__raw__": found.raw_arguments}
        reply.tool_calls.append({"id": call_id, "name": found.name or "unknown", "args": args})
        reply.errors[call_id] = found.error
    reply.finish_reason = "tool_calls" if reply.tool_calls else raw.finish_reason
    return reply
