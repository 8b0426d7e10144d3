"""Tools that run only after a person says yes (TOOLS_REQUIRE_APPROVAL).

Before such a call runs, the graph stops with a LangGraph interrupt (checkpointed, so it
survives a restart and shows in Studio) whose value lists the calls awaiting a decision. The
run is resumed with `Command(resume={call_id: {"approved": bool, "reason": str}})`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.types import interrupt

APPROVAL_TOOL = "approve_tool_call"
"""The reserved client tool an approval request reaches a Chat Completions client as."""
INTERRUPT_OUTPUT_KEY = "__interrupt__"
APPROVAL_ID_PREFIX = "approval_"
"""The reserved call's id is this prefix and the id of the call awaiting approval."""


def needs_approval(name: str, patterns: list[str]) -> bool:
    """Whether a tool's name matches one of TOOLS_REQUIRE_APPROVAL's names or globs."""
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def ask_approval(
    calls: list[dict[str, Any]], servers: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The decision on each call, by call id; stops the run until they are given. `servers`
    names where each tool comes from (an MCP server's name, or `builtin`)."""
    if not calls:
        return {}
    request = [
        {
            "call_id": c["id"],
            "tool": c["name"],
            "arguments": c["args"],
            "server": (servers or {}).get(c["name"], "builtin"),
        }
        for c in calls
    ]
    return interrupt({"approvals": request})


def refused(call: dict[str, Any], decision: dict[str, Any]) -> ToolMessage | None:
    """What the model is told about a call a person refused; None when approved."""
    if decision.get("approved"):
        return None
    reason = decision.get("reason") or "no reason given"
    text = f"The user refused to let {call['name']} run ({reason}). Do not call it again for this."
    return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")


def pending_approvals(snapshot: Any) -> list[dict[str, Any]]:
    """The calls a session's latest checkpoint waits on a decision for."""
    return approvals_asked(getattr(snapshot, "interrupts", ()) or ())


def approvals_asked(interrupts: Iterable[Any]) -> list[dict[str, Any]]:
    """The calls LangGraph interrupts ask a decision for."""
    pending = []
    for item in interrupts:
        value = item.value if isinstance(item.value, dict) else {}
        pending += value.get("approvals", [])
    return pending


def approvals_in_output(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The approvals a run's "values" output asks for: LangGraph adds the interrupts that
    stopped the run under `__interrupt__` (read here instead of the state after the run)."""
    return approvals_asked(values.get(INTERRUPT_OUTPUT_KEY, ()))


def approval_tool_calls(approvals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The approval requests as OpenAI tool calls of the reserved client tool."""
    return [
        {
            "id": f"{APPROVAL_ID_PREFIX}{item['call_id']}",
            "type": "function",
            "function": {"name": APPROVAL_TOOL, "arguments": json.dumps(item)},
        }
        for item in approvals
    ]
