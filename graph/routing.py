"""Edges: where the graph goes after the model and after the tools.

The routers are `async def` though they never wait: LangGraph runs a plain function of an
async graph on a thread pool, a hand-off per step."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END

from graph.state import State


async def route_model_output(state: State) -> Literal["run_tools", "__end__"]:
    """Run tools when the reply calls any; otherwise the turn is finished."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "run_tools"
    return END


async def route_after_tools(state: State) -> Literal["call_model", "__end__"]:
    """Back to the model, unless some calls are the client's to run (then the turn ends)."""
    return END if pending_client_calls(state) else "call_model"


def pending_client_calls(state: State) -> list[dict]:
    """Calls of the last assistant reply that have no tool result yet."""
    messages = state["messages"]
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage):
            return [dict(c) for c in message.tool_calls if c["id"] not in answered]
    return []
