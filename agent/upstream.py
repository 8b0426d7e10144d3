"""One model step: pick the strategy, apply tool_choice, give back checked tool calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.errors import ReceivedCounter, upstream_error
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
    received = ReceivedCounter(on_delta or _ignore)
    try:
        raw = await _with_reasks(llm, call, received)
    except openai.OpenAIError as exc:
        raise upstream_error(exc, str(llm.openai_api_base), received.count) from exc
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
    if call.mode is ToolCallMode.HARMONY:
        return await harmony_reply(llm, messages, tools, options, on_delta)
    if call.mode is ToolCallMode.PROMPT:
        return await prompt_reply(llm, messages, tools, options, on_delta)
    bind = {"tool_choice": call.tool_choice, "parallel_tool_calls": call.parallel_tool_calls}
    options["bind"] = {key: value for key, value in bind.items() if value is not None}
    recover = call.mode is ToolCallMode.AUTO
    return await native_reply(llm, messages, tools, options, on_delta, recover_from_text=recover)


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
