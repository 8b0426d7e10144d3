"""The graph's tool node: run the server-side calls of the last reply, once approved,
concurrently, each bounded in time and output size."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.runtime import Runtime

from agent.messages import content_text, server_tool_message
from agent.metrics import SERVER_TOOL_RESULTS
from agent.prompts.nudges import TOOL_ERROR_MESSAGE
from agent.settings import Settings
from agent.tracing import tool_call
from graph.approval import ask_approval, needs_approval, refused
from graph.context import Context
from graph.deps import AgentDeps
from graph.live_events import live_writer, watched
from graph.prompts import NOT_RUN_MESSAGE, OVER_CAP_MESSAGE, TRUNCATED_NOTE
from graph.state import State
from mcp_tools.builtin.tool_turn import NO_SESSION, tool_session, turn_write_budget
from mcp_tools.registry import BUILTIN, ToolEntry

# An MCP call may first restart a crashed or hung server (start-up timeout 30 s, ping 2 s).
MCP_RECONNECT_ALLOWANCE = 35.0


async def run_tools(state: State, runtime: Runtime[Context], deps: AgentDeps) -> dict[str, Any]:
    """Answer every call of the last reply the server can answer; client calls wait.
    Calls past MAX_TOOL_CALLS_PER_REPLY are not run: the model is told so for each."""
    calls = state["messages"][-1].tool_calls
    cap = deps.settings.max_tool_calls_per_reply
    limit, written = deps.settings.tool_write_bytes_per_turn, state.get("written_bytes", 0)
    with turn_write_budget(limit, written) as budget, tool_session(run_session_id()):
        answers = await _run_calls(calls[:cap], state, runtime, deps)
    skipped = [over_cap_message(call, len(calls), cap) for call in calls[cap:]]
    return {"messages": answers + skipped, "written_bytes": budget.used}


def run_session_id() -> str:
    """The session (LangGraph thread) this run belongs to; NO_SESSION for a run without one,
    the key the session's tools (browser pages, python interpreter) are kept under."""
    return str(get_config().get("configurable", {}).get("thread_id") or NO_SESSION)


async def _run_calls(
    calls: list[dict[str, Any]], state: State, runtime: Runtime[Context], deps: AgentDeps
) -> list[ToolMessage]:
    errors = state.get("call_errors") or {}
    client_names = runtime.context.client_tool_names
    allowed = {entry.name: entry for entry in runtime.context.server_tools(deps.tools)}
    ours = [call for call in calls if call["name"] not in client_names or errors]
    risky = [
        call
        for call in ours
        if call["id"] not in errors
        and call["name"] in allowed
        and (
            needs_approval(call["name"], deps.settings.tools_require_approval)
            or call["name"] in runtime.context.approval_required
        )
    ]
    decisions = ask_approval(risky, {name: entry.source for name, entry in allowed.items()})
    write = live_writer()
    jobs = [
        watched(
            write,
            call,
            _refused_or_answer(call, decisions, errors, client_names, allowed, deps.settings),
        )
        for call in ours
    ]
    return list(await asyncio.gather(*jobs))


def over_cap_message(call: dict[str, Any], made: int, cap: int) -> ToolMessage:
    """What the model is told about a call past the per-reply cap (it was not run)."""
    return server_tool_message(call, OVER_CAP_MESSAGE.format(made=made, cap=cap), status="error")


async def _refused_or_answer(
    call: dict[str, Any], decisions: dict[str, dict[str, Any]], *rest: Any
) -> ToolMessage:
    if call["id"] in decisions and (message := refused(call, decisions[call["id"]])):
        return message
    return await _answer(call, *rest)


def unknown_tool(name: str, available: list[str]) -> str:
    """What the model is told about a call to a tool that does not exist here."""
    if not available:
        return f"{name!r} is not a tool here: no tools are available, answer without one."
    return f"{name!r} is not a valid tool, try one of [{', '.join(available)}]"


async def _answer(
    call: dict[str, Any],
    errors: dict[str, str],
    client_names: set[str],
    allowed: dict[str, ToolEntry],
    settings: Settings,
) -> ToolMessage:
    if call["id"] in errors:
        return error_message(call, errors[call["id"]])
    if call["name"] in client_names:
        return server_tool_message(call, NOT_RUN_MESSAGE)
    entry = allowed.get(call["name"])
    if entry is None:
        return error_message(call, unknown_tool(call["name"], sorted(allowed)))
    limit = settings.mcp_call_timeout
    if entry.source != BUILTIN:
        limit += MCP_RECONNECT_ALLOWANCE  # the MCP layer bounds the call; this is a backstop
    with tool_call(entry.name, call["id"], entry.source, call["args"]) as answered:
        message = await run_tool(entry.tool, call, limit, settings.tool_output_max_chars)
        answered(message)
    SERVER_TOOL_RESULTS.labels(entry.name, message.status).inc()
    return message


def truncate(text: str, budget: int) -> str:
    """Cut `text` to `budget` characters and say so, so the model knows it saw a part."""
    if len(text) <= budget:
        return text
    return text[:budget] + TRUNCATED_NOTE.format(shown=budget, total=len(text))


def _as_text(output: Any) -> str:
    if isinstance(output, ToolMessage):
        output = output.content
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return content_text(output) or json.dumps(output, default=str)
    return json.dumps(output, default=str, ensure_ascii=False)


async def run_tool(
    tool: BaseTool, call: dict[str, Any], time_limit: float, budget: int
) -> ToolMessage:
    """Run one call; any failure becomes an error tool message the model can read. Output
    and error text alike are cut to `budget` characters (TOOL_OUTPUT_MAX_CHARS)."""
    try:
        async with asyncio.timeout(time_limit):
            output = await tool.ainvoke(call["args"])
    except TimeoutError:
        return error_message(call, f"tool {call['name']!r} did not finish within {time_limit:g} s")
    except Exception as exc:  # a tool failure must never end the turn
        detail = str(exc) or type(exc).__name__
        return error_message(call, truncate(f"tool {call['name']!r} failed: {detail}", budget))
    return server_tool_message(call, truncate(_as_text(output), budget))


def error_message(call: dict[str, Any], error: str) -> ToolMessage:
    """A tool message telling the model why its call did not work."""
    return server_tool_message(call, TOOL_ERROR_MESSAGE.format(error=error), status="error")
