"""What a request asks of its session: the turn's new messages, or a client's answers to the
session's pending approvals (`role: "tool"` messages for the reserved calls) that resume it;
its per-turn settings; and which of its fields reach the model server, which are refused
with a 400."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.sessions import Sessions

import json
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage
from langgraph.types import Command

from agent.errors import AgentError
from agent.llm.request_fields import EXTRA_FIELDS, STANDARD_FIELDS, not_honoured
from agent.messages import content_text, to_langchain
from api.protocol import ChatCompletionRequest
from graph.approval import APPROVAL_ID_PREFIX, APPROVAL_TOOL, pending_approvals
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


ANSWER_SHAPE = '{"approved": true} or {"approved": false, "reason": "..."}'


def approval_pending(pending: list[dict[str, Any]]) -> AgentError:
    """The 409 for a request that does not answer the session's pending approvals."""
    ids = [f"{APPROVAL_ID_PREFIX}{item['call_id']}" for item in pending]
    tools = sorted({item["tool"] for item in pending})
    return AgentError(
        f"This session waits for approval of {tools}: answer each {APPROVAL_TOOL} call"
        f" ({ids}) with a role 'tool' message whose content is {ANSWER_SHAPE}, before"
        " sending new messages.",
        param="messages",
        code="approval_pending",
    )


def decisions(sent: list[BaseMessage], pending: list[dict[str, Any]]) -> dict[str, Any]:
    """The decision for every pending call, by call id, from the request's trailing tool
    messages; the 409 when the request does not answer them."""
    wanted = {f"{APPROVAL_ID_PREFIX}{item['call_id']}": item["call_id"] for item in pending}
    answers: dict[str, Any] = {}
    for message in reversed(sent):
        if not isinstance(message, ToolMessage) or message.tool_call_id not in wanted:
            break
        answers[wanted[message.tool_call_id]] = _decision(message)
    if set(answers) != set(wanted.values()):
        raise approval_pending(pending)
    return answers


def _decision(message: ToolMessage) -> dict[str, Any]:
    try:
        value = json.loads(content_text(message.content))
    except ValueError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("approved"), bool):
        raise AgentError(
            f"The answer to {message.tool_call_id} must be JSON: {ANSWER_SHAPE}.",
            param="messages",
            code="invalid_approval",
        )
    return {"approved": value["approved"], "reason": str(value.get("reason") or "")}


NO_LOGPROBS = "a turn's answer joins several model calls, so there are no token logprobs"
# Fields with a meaning this service cannot give, and the values that ask for nothing.
REFUSED: dict[str, tuple[str, tuple[Any, ...]]] = {
    "logprobs": (NO_LOGPROBS, (False,)),
    "top_logprobs": (NO_LOGPROBS, (0,)),
    "audio": ("gpt-oss answers in text only", ()),
    "modalities": ("gpt-oss answers in text only", (["text"],)),
    "prediction": ("predicted outputs are not supported", ()),
    "web_search_options": ("web search is not built in; offer a tool instead", ()),
    "functions": ("use `tools` (the deprecated `functions` is not read)", ()),
    "function_call": ("use `tool_choice` (the deprecated `function_call` is not read)", ()),
    "service_tier": ("there is one tier", ("auto", "default")),
    "store": ("completions are not stored for distillation; sessions keep turns", (False,)),
}


def upstream_fields(request: ChatCompletionRequest) -> dict[str, Any]:
    """The fields to forward upstream, or the 400 naming the first one not honoured."""
    given = request.model_dump(exclude_none=True, exclude_unset=True)
    for name, (why, harmless) in REFUSED.items():
        if name in given and given[name] not in harmless:
            raise not_honoured(name, why)
    for name in request.model_extra or {}:
        if name not in EXTRA_FIELDS and name not in REFUSED:
            raise not_honoured(name, "this service does not know it (see docs/api.md)")
    forwarded = {name: given[name] for name in STANDARD_FIELDS if name in given}
    extras = {name: given[name] for name in EXTRA_FIELDS if name in given}
    return forwarded | extras
