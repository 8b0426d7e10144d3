"""What a request asks of its session: the turn's new messages (or the approval decisions
that resume it) and its per-turn settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.types import Command

from agent.errors import AgentError
from agent.messages import to_langchain
from api.approvals import decisions
from api.protocol import ChatCompletionRequest
from api.sessions import Sessions
from graph.approval import pending_approvals
from graph.context import Context
from graph.turn import (
    new_messages,
    split_instructions,
)
from mcp_tools.registry import ToolRegistry


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
