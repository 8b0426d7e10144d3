"""One model step: pick the strategy, apply tool_choice, give back checked tool calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent import capabilities
from agent.errors import UPSTREAM_FAILURES, ReceivedCounter, upstream_error
from agent.prompts.nudges import REQUIRED_NUDGE
from agent.reply import ModelReply
from agent.settings import ToolCallMode
from agent.strategies import strategy_for
from agent.toolcalls import ToolCall
from agent.upstream_failures import UpstreamStatus
from agent.upstream_http import ModelServer

OnDelta = Callable[[str, str], None]
"""Receives ("content" | "reasoning", text) as the reply forms."""


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
    reasoning_opened: bool = False
    """The chat template opened `<think>` (REASONING_OPENED_IN_PROMPT)."""
    builtin_tools: frozenset[str] = frozenset()
    """Offered tools that are gpt-oss's own (python, browser_*): harmony declares them in
    the system message; other modes offer them as ordinary functions."""


async def call_model(
    server: ModelServer, call: ModelCall, on_delta: OnDelta | None = None
) -> ModelReply:
    """Run one step; upstream failures become UpstreamError with the right status."""
    received = ReceivedCounter(on_delta or _ignore)
    try:
        raw = await _with_reasks(server, call, received)
    except UPSTREAM_FAILURES as exc:
        raise upstream_error(exc, server.base_url, received.count) from exc
    return _checked(raw, call)


def _ignore(kind: str, text: str) -> None:
    return None


async def _with_reasks(server: ModelServer, call: ModelCall, on_delta: OnDelta) -> ModelReply:
    """Ask again (without storing the nudge) while tool_choice demands a call it lacks.

    When a call is demanded, an attempt's deltas are held until it is kept, so a
    streamed reply shows only the answer that is returned (and stored)."""
    messages = list(call.messages)
    tools = [] if call.tool_choice == "none" else call.tools
    demanded = call.tool_choice == "required" or isinstance(call.tool_choice, dict)
    for attempt in range(call.reasks + 1):
        held: list[tuple[str, str]] = []
        sink = _holder(held) if demanded else on_delta
        raw = await _once(server, call, messages, tools, sink)
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
    server: ModelServer,
    call: ModelCall,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    on_delta: OnDelta,
) -> ModelReply:
    options: dict[str, Any] = {**call.params, "stream": call.stream}
    bind = {"tool_choice": call.tool_choice, "parallel_tool_calls": call.parallel_tool_calls}
    options["bind"] = {key: value for key, value in bind.items() if value is not None}
    options["reasoning_opened"] = call.reasoning_opened
    options["builtin_tools"] = call.builtin_tools
    mode = _mode_for(server, call.mode)
    if mode is ToolCallMode.HARMONY:
        await _allow_whole_context(server, options)
    if not (mode is ToolCallMode.AUTO and tools):
        return await strategy_for(mode)(server, messages, tools, options, on_delta)
    try:
        reply = await strategy_for(mode)(server, messages, tools, options, on_delta)
    except UpstreamStatus as exc:
        if not capabilities.refuses_tools(exc):
            raise
        why = f"it refused the tools: {capabilities.first_line(exc)}"
        return await _fall_back(server, call, messages, tools, on_delta, why, ModelReply())
    if capabilities.swallowed_call(reply.stop_reason, reply.calls):
        why = "it ended a reply on <|call|> but sent no tool call"
        return await _fall_back(server, call, messages, tools, on_delta, why, reply)
    return reply


def _mode_for(server: ModelServer, mode: ToolCallMode) -> ToolCallMode:
    """`auto` on a backend known to refuse native tools uses its fallback strategy."""
    if mode is ToolCallMode.AUTO and not capabilities.backend(server.base_url).native_tools:
        return capabilities.fallback_mode(server.kind)
    return mode


async def _fall_back(
    server: ModelServer,
    call: ModelCall,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    on_delta: OnDelta,
    why: str,
    shown: ModelReply,
) -> ModelReply:
    """Redo the step with the strategy `auto` now uses for this backend. What the failed
    attempt already streamed is not streamed again, and the reply keeps exactly what the
    client saw of the step."""
    mode = capabilities.forget_native_tools(server.base_url, server.kind, why)
    after = _AfterShown(shown, on_delta)
    redo = await _once(server, replace(call, mode=mode), messages, tools, after)
    return replace(
        redo,
        content=shown.content + after.passed["content"],
        reasoning=shown.reasoning + after.passed["reasoning"],
    )


class _AfterShown:
    """Passes on a redone step's deltas minus the prefix the client has already seen."""

    def __init__(self, shown: ModelReply, on_delta: OnDelta) -> None:
        self.unseen = {"content": shown.content, "reasoning": shown.reasoning}
        self.passed = {"content": "", "reasoning": ""}
        self.on_delta = on_delta

    def __call__(self, kind: str, text: str) -> None:
        seen = self.unseen[kind]
        same = _common_prefix(seen, text)
        self.unseen[kind] = seen[same:] if same == len(text) else ""
        text = text[same:]
        if text:
            self.passed[kind] += text
            self.on_delta(kind, text)


def _common_prefix(a: str, b: str) -> int:
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


async def _allow_whole_context(server: ModelServer, options: dict[str, Any]) -> None:
    """Raw completions default to 16 tokens (vLLM keeps that OpenAI default): without the
    client's max_tokens, allow up to the context length the server reports (vLLM caps it
    at what the prompt leaves)."""
    if options.get("max_tokens") is not None:
        return
    length = await capabilities.context_length(server)
    if length:
        options["max_tokens"] = length


def _missing_required(raw: ModelReply, choice: str | dict[str, Any] | None) -> str | None:
    """Which tool the reply should have called but did not, for `required` / a named tool."""
    valid = [c for c in raw.calls if isinstance(c, ToolCall)]
    if choice == "required" and not valid:
        return "one of the tools"
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        if not any(c.name == name for c in valid):
            return f"the tool `{name}`"
    return None


def _checked(raw: ModelReply, call: ModelCall) -> ModelReply:
    """tool_choice `none` and `parallel_tool_calls: false` applied, every call given an id."""
    calls = [] if call.tool_choice == "none" else raw.calls
    if call.parallel_tool_calls is False:
        calls = calls[:1]
    calls = [replace(c, id=c.id or f"call_{uuid.uuid4().hex[:24]}") for c in calls]
    finish = "tool_calls" if calls and raw.finish_reason != "length" else raw.finish_reason
    return ModelReply(raw.content, raw.reasoning, calls, finish, raw.usage)
