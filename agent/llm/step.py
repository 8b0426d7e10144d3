"""One model step: on the least busy healthy backend (another one when it fails before the
client saw a token), in the backend's strategy, asked again while tool_choice demands a call
it lacks, redone in the fallback strategy when native tool calling turns out missing, and
its tool calls checked against tool_choice."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from agent.errors import AgentError, UpstreamError
from agent.llm.backend import Backend, fallback_mode, first_line, refuses_tools, swallowed_call
from agent.llm.backend_pool import BackendPool
from agent.llm.failures import UPSTREAM_FAILURES, UpstreamStatus, upstream_error
from agent.llm.http import ModelServer
from agent.llm.request_fields import for_server
from agent.llm.step_io import Deltas, ModelCall, ModelReply, StepItem, StepRead
from agent.llm.strategies import strategy_for
from agent.prompts.nudges import REQUIRED_NUDGE
from agent.settings import ToolCallMode
from agent.toolcalls import ToolCall
from agent.tracing import model_call

# Connection errors (also a stream dropped before any token), timeouts and 5xx: another
# backend may well answer.
RETRYABLE = frozenset(
    {"upstream_unreachable", "upstream_dropped", "upstream_timeout", "upstream_error"}
)


async def run_step(pool: BackendPool, call: ModelCall) -> AsyncIterator[StepItem]:
    """The step's deltas as the reply forms, then the reply; retried on another backend
    while nothing has reached the client. Close the iterator to stop the model call."""
    model = call.params.get("model")
    tried: set[str] = set()
    while True:
        backend = pool.pick(model, tried)
        if backend is None:
            raise no_backend(model)
        tried.add(backend.spec.name)
        # When another backend serves the model this loop is the retry: LLM_MAX_RETRIES
        # would ask the failing backend again first.
        alone = pool.pick(model, tried) is None
        try:
            async with contextlib.aclosing(_on_backend(pool, backend, call, alone)) as items:
                async for item in items:
                    yield item
            return
        except UpstreamError as exc:
            if exc.code not in RETRYABLE:
                raise
            pool.failed(backend, exc.message)
            if exc.received or pool.pick(model, tried) is None:
                raise


async def step_reply(pool: BackendPool, call: ModelCall) -> ModelReply:
    """The step's reply alone (its deltas go nowhere)."""
    async with StepRead(run_step(pool, call)) as step:
        async for _ in step:
            pass
    return step.reply


def no_backend(model: str | None) -> AgentError:
    """The 503 when no backend serving the model is registered."""
    return AgentError(
        f"No model server is registered for model {model!r}; register one (POST /v1/backends).",
        code="no_backend",
    )


async def _on_backend(
    pool: BackendPool, backend: Backend, call: ModelCall, alone: bool
) -> AsyncIterator[StepItem]:
    """The step on one backend, watched (span, metrics, LLM run); a failure named for the
    client with how many deltas had reached it (the watch counts them)."""
    started = time.monotonic()
    server = backend.server if alone else backend.server.single_try()
    sent = for_backend(call, backend)
    with pool.busy(backend):
        async with model_call(sent, backend.spec.name, server) as watch:
            try:
                async with StepRead(_with_reasks(backend, server, sent)) as step:
                    async for deltas in step:
                        watch.passed(deltas)
                        yield deltas
            except UPSTREAM_FAILURES as exc:
                raise upstream_error(exc, server.base_url, watch.received) from exc
            reply = _checked(step.reply, sent)
            watch.finished(reply)
    pool.succeeded(backend, time.monotonic() - started)
    yield reply


def for_backend(call: ModelCall, backend: Backend) -> ModelCall:
    """The call as this backend takes it: its tool-call mode, its names for extra fields."""
    mode = backend.spec.mode or call.mode
    params = dict(call.params)
    extra = params.pop("extra_body", None) or {}
    sent = for_server(extra, backend.spec.server, mode)
    if sent:
        params["extra_body"] = sent
    return replace(call, params=params, mode=mode)


def _with_reasks(backend: Backend, server: ModelServer, call: ModelCall) -> AsyncIterator[StepItem]:
    """The reply, asked again while tool_choice demands a call it lacks."""
    asked = replace(call, tools=[] if call.tool_choice == "none" else call.tools)
    if call.tool_choice == "required" or isinstance(call.tool_choice, dict):
        return _reasked(backend, server, asked, call.tool_choice, call.reasks)
    return _reply(backend, server, asked)


async def _reasked(
    backend: Backend,
    server: ModelServer,
    call: ModelCall,
    choice: str | dict[str, Any],
    reasks: int,
) -> AsyncIterator[StepItem]:
    """Ask again (without storing the nudge) while the reply lacks the call `choice`
    demands. An attempt's deltas are held until it is kept, so a streamed reply shows only
    the answer that is returned (and stored)."""
    for attempt in range(reasks + 1):
        held: list[Deltas] = []
        async with StepRead(_reply(backend, server, call)) as step:
            async for deltas in step:
                held.append(deltas)
        raw = step.reply
        which = _missing_required(raw, choice)
        if which is None or attempt == reasks:
            for deltas in held:
                yield deltas
            yield raw
            return
        nudge = [AIMessage(content=raw.content), HumanMessage(REQUIRED_NUDGE.format(which=which))]
        call = replace(call, messages=[*call.messages, *nudge])


def _reply(backend: Backend, server: ModelServer, call: ModelCall) -> AsyncIterator[StepItem]:
    """One reply in the backend's mode. `auto` offering tools to a server that turns out
    unable to call them natively is redone once in the fallback mode."""
    mode = _mode_for(backend, call.mode)
    if mode is ToolCallMode.AUTO and call.tools:
        return _with_fallback(backend, server, call)
    return _reply_in(mode, backend, server, call)


async def _with_fallback(
    backend: Backend, server: ModelServer, call: ModelCall
) -> AsyncIterator[StepItem]:
    """The reply in `auto`, redone in the fallback mode when the server refused the tools
    or swallowed a call."""
    try:
        async with StepRead(_reply_in(ToolCallMode.AUTO, backend, server, call)) as attempt:
            async for deltas in attempt:
                yield deltas
        reply = attempt.reply
    except UpstreamStatus as exc:
        if not refuses_tools(exc):
            raise
        why, shown = f"it refused the tools: {first_line(exc)}", ModelReply()
    else:
        if not swallowed_call(reply.stop_reason, reply.calls):
            yield reply
            return
        why, shown = "it ended a reply on <|call|> but sent no tool call", reply
    async with contextlib.aclosing(_fall_back(backend, server, call, why, shown)) as redone:
        async for item in redone:
            yield item


def _mode_for(backend: Backend, mode: ToolCallMode) -> ToolCallMode:
    """`auto` on a backend known to refuse native tools uses its fallback strategy."""
    if mode is ToolCallMode.AUTO and not backend.native_tools:
        return fallback_mode(backend.server.kind)
    return mode


def _reply_in(
    mode: ToolCallMode, backend: Backend, server: ModelServer, call: ModelCall
) -> AsyncIterator[StepItem]:
    if mode is ToolCallMode.HARMONY:
        return _with_whole_context(backend, server, call)
    return strategy_for(mode)(server, call)


async def _fall_back(
    backend: Backend, server: ModelServer, call: ModelCall, why: str, shown: ModelReply
) -> AsyncIterator[StepItem]:
    """Redo the step with the strategy `auto` now uses for this backend. What the failed
    attempt already streamed is not streamed again, and the reply keeps exactly what the
    client saw of the step."""
    mode = backend.forget_native_tools(why)
    after = _AfterShown(shown)
    async with StepRead(_reply_in(mode, backend, server, call)) as redo:
        async for deltas in redo:
            if unseen := after.unseen_of(deltas):
                yield unseen
    content = shown.content + after.passed["content"]
    reasoning = shown.reasoning + after.passed["reasoning"]
    yield replace(redo.reply, content=content, reasoning=reasoning)


class _AfterShown:
    """A redone step's deltas minus the prefix the client has already seen."""

    def __init__(self, shown: ModelReply) -> None:
        self.unseen = {"content": shown.content, "reasoning": shown.reasoning}
        self.passed = {"content": "", "reasoning": ""}

    def unseen_of(self, deltas: Deltas) -> Deltas:
        kept: Deltas = []
        for kind, text in deltas:
            seen = self.unseen[kind]
            same = _common_prefix(seen, text)
            self.unseen[kind] = seen[same:] if same == len(text) else ""
            if text := text[same:]:
                self.passed[kind] += text
                kept.append((kind, text))
        return kept


def _common_prefix(a: str, b: str) -> int:
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


async def _with_whole_context(
    backend: Backend, server: ModelServer, call: ModelCall
) -> AsyncIterator[StepItem]:
    """Harmony. Raw completions default to 16 tokens (vLLM keeps that OpenAI default):
    without the client's max_tokens, allow up to the context length the server reports
    (vLLM caps it at what the prompt leaves)."""
    if call.params.get("max_tokens") is None and (length := await backend.context_length()):
        call = replace(call, params={**call.params, "max_tokens": length})
    async with contextlib.aclosing(strategy_for(ToolCallMode.HARMONY)(server, call)) as items:
        async for item in items:
            yield item


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
