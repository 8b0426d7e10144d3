"""A client's answers to pending approvals: `role: "tool"` messages for the reserved calls."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage

from agent.errors import AgentError
from agent.messages import content_text
from graph.approval import APPROVAL_ID_PREFIX, APPROVAL_TOOL

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
