"""One chat turn: decide what is new, run the graph, store the turn only if it finishes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.types import Command

from agent.errors import AgentError
from agent.inflight import cancel_calls, track_calls
from agent.messages import to_langchain
from agent.metrics import TURN_SECONDS, TURNS
from api.approvals import decisions
from api.protocol import ChatCompletionRequest
from api.sessions import Sessions
from graph.approval import approvals_in_output, pending_approvals
from graph.context import Context
from graph.live_events import LIVE, with_live_events
from graph.tool_activity import ACTIVITY_KINDS
from graph.turn import (
    TurnOutcome,
    new_messages,
    split_instructions,
    turn_outcome,
    turn_record,
)
from mcp_tools.registry import ToolRegistry

APPROVALS = "approvals"
"""The event that ends a turn stopped to wait for approval of some tool calls."""


@dataclass
class TurnPlan:
    """A turn ready to run: the session, what to add to it, and how to undo it."""

    session_id: str
    graph_input: dict[str, Any] | Command
    """New messages, or the decisions that resume a turn waiting for approval."""
    context: Context
    start_index: int


def split_request(request: ChatCompletionRequest) -> tuple[str | None, list[BaseMessage]]:
    """The request's system instructions (joined) and its other messages."""
    return split_instructions(
        [to_langchain(m.model_dump(exclude_none=True)) for m in request.messages]
    )


def build_context(request: ChatCompletionRequest, tools: ToolRegistry) -> Context:
    """Per-turn settings taken from the request."""
    choice = request.tool_choice
    return Context(
        temperature=request.temperature,
        top_p=request.top_p,
        max_tokens=request.token_limit,
        stop=request.stop_list,
        reasoning_effort=request.reasoning_effort,
        enabled_tools=without_builtins(
            allowed_server_tools(request.metadata, tools), tools, request.builtin_tools
        ),
        client_tools=[t.model_dump(exclude_none=True) for t in request.tools or []],
        tool_choice=choice.model_dump() if hasattr(choice, "model_dump") else choice,
        parallel_tool_calls=request.parallel_tool_calls,
        stream=request.stream,
    )


def allowed_server_tools(metadata: dict[str, str] | None, tools: ToolRegistry) -> list[str] | None:
    """`metadata.tools` ("a,b", or "" for none) narrows the server tools; unset allows all."""
    if not metadata or "tools" not in metadata:
        return None
    wanted = [name.strip() for name in metadata["tools"].split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(tools.names()))
    if unknown:
        raise AgentError(
            f"metadata.tools names unknown server tools {unknown}; available: {tools.names()}",
            param="metadata.tools",
            code="unknown_tool",
        )
    return wanted


def without_builtins(
    allowed: list[str] | None, tools: ToolRegistry, wanted: bool
) -> list[str] | None:
    """The server tools allowed, less gpt-oss's own when the request opts out of them."""
    if wanted:
        return allowed
    names = tools.names() if allowed is None else allowed
    return [name for name in names if not tools.is_gpt_oss_own(name)]


async def plan_turn(
    sessions: Sessions,
    request: ChatCompletionRequest,
    session_id: str,
    is_new: bool,
    tools: ToolRegistry,
) -> TurnPlan:
    """Work out which request messages are new; a new session is created only for a
    request that is valid and adds something."""
    instructions, sent = split_request(request)
    context = build_context(request, tools)
    checkpoint = None if is_new else await sessions.require(session_id)
    stored: list[BaseMessage] = list(checkpoint.values.get("messages", [])) if checkpoint else []
    pending = pending_approvals(checkpoint)
    if pending:
        resume = Command(resume=decisions(sent, pending))
        return TurnPlan(session_id, resume, context, len(stored))
    fresh = new_messages(stored, sent)
    if not fresh:
        raise AgentError(
            "Nothing new to answer: every message of the request is already in the session.",
            param="messages",
            code="no_new_message",
        )
    if checkpoint is None:
        await sessions.create(session_id, instructions)
    graph_input: dict[str, Any] = {"messages": fresh}
    if instructions is not None:
        graph_input["instructions"] = instructions
    return TurnPlan(session_id, graph_input, context, len(stored) + len(fresh))


async def run_turn(
    sessions: Sessions, plan: TurnPlan, activity: list[dict[str, Any]] | None = None
) -> TurnOutcome:
    """Run the turn to the end (no streaming); server tool events go to `activity` if given."""
    final: dict[str, Any] = {}
    approvals: list[dict[str, Any]] = []
    modes = ["values"] if activity is None else ["values", LIVE]
    async for mode, data in _guarded(sessions, plan, modes):
        if mode == APPROVALS:
            approvals = data
        elif mode == "values":
            final = data
        elif data.get("kind") in ACTIVITY_KINDS:
            activity.append(data)
    return turn_outcome(final, plan.start_index, approvals)


def stream_turn(sessions: Sessions, plan: TurnPlan) -> AsyncGenerator[tuple[str, Any], None]:
    """Run the turn, yielding (LIVE, delta) while it runs, ("values", state) events,
    and last (APPROVALS, calls) when it stopped to wait for approval.

    Closing the generator before its end leaves the session as it was before the turn (the
    caller closes it before it releases the session)."""
    return _guarded(sessions, plan, [LIVE, "values"])


async def _guarded(
    sessions: Sessions, plan: TurnPlan, modes: list[str]
) -> AsyncIterator[tuple[str, Any]]:
    """Run the turn; it is stored (whole) only when it gets to its end (graph/turn_saver.py)."""
    saver = sessions.graph.checkpointer
    started = time.monotonic()
    calls = track_calls()
    try:
        async with saver.turn(plan.session_id) as config:
            final: dict[str, Any] = {}
            asked: dict[str, dict[str, Any]] = {}  # by call id: an interrupt may repeat
            events = _turn_items(sessions.graph, plan, config, modes)
            async with contextlib.aclosing(events):  # its exit save lands while the turn is open
                async for mode, data in events:
                    if mode == "values":
                        final = data
                        asked |= {a["call_id"]: a for a in approvals_in_output(data)}
                    yield mode, data
            pending = list(asked.values())
            record = turn_record(plan.start_index, final, pending)
            await _uncancelled(saver.commit(config, record))
            if pending:
                yield APPROVALS, pending
    except BaseException as exc:
        # LangGraph stops a given-up run's nodes only once its own cleanup gets there:
        # the model call is stopped here, so the server does not generate for nobody
        cancel_calls(calls)
        known = await sessions.health.translate(exc)
        TURNS.labels(_outcome(known or exc)).inc()
        if known is not None:
            raise known from exc
        raise
    TURNS.labels("ok").inc()
    TURN_SECONDS.observe(time.monotonic() - started)


def _turn_items(
    graph: Any, plan: TurnPlan, config: dict[str, Any], modes: list[str]
) -> AsyncIterator[tuple[str, Any]]:
    """The graph's stream, live events beside it when asked for (graph/live_events.py);
    the turn is saved once, when the run exits (graph/turn_saver.py)."""
    own_modes = [mode for mode in modes if mode != LIVE]
    items = graph.astream(
        plan.graph_input, config, context=plan.context, stream_mode=own_modes, durability="exit"
    )
    return with_live_events(items) if LIVE in modes else items


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, AgentError):
        return exc.code or "agent_error"
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "cancelled"
    return "internal_error"


async def _uncancelled(step: Any) -> None:
    """Finish `step` even if this task is cancelled meanwhile (then re-raise): the caller
    releases the session lock next, and the next turn must find the commit done."""
    running = asyncio.ensure_future(step)
    cancelled = False
    while not running.done():
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            cancelled = True
    running.result()
    if cancelled:
        raise asyncio.CancelledError
