"""The agent graph: start_turn -> call_model -> (run_tools -> call_model)* -> end.

The routers are `async def` though they never wait: LangGraph runs a plain function of an
async graph on a thread pool, a hand-off per step."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from graph import nodes, tool_step
from graph.context import Context
from graph.deps import AgentDeps
from graph.state import InputState, State, pending_client_calls


def build_builder(deps: AgentDeps) -> StateGraph:
    """The uncompiled graph, its nodes bound to `deps`."""

    async def call_model(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        return await nodes.call_model(state, runtime, deps)

    async def run_tools(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        return await tool_step.run_tools(state, runtime, deps)

    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("start_turn", nodes.start_turn)
    builder.add_node("call_model", call_model)
    builder.add_node("run_tools", run_tools)
    builder.add_edge(START, "start_turn")
    builder.add_edge("start_turn", "call_model")
    builder.add_conditional_edges("call_model", route_model_output)
    builder.add_conditional_edges("run_tools", route_after_tools)
    return builder


def build_graph(
    deps: AgentDeps, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    """The compiled agent; the service passes its checkpointer, `langgraph dev` none."""
    return build_builder(deps).compile(checkpointer=checkpointer, name="oss-agent")


async def route_model_output(state: State) -> Literal["run_tools", "__end__"]:
    """Run tools when the reply calls any; otherwise the turn is finished."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "run_tools"
    return END


async def route_after_tools(state: State) -> Literal["call_model", "__end__"]:
    """Back to the model, unless some calls are the client's to run (then the turn ends)."""
    return END if pending_client_calls(state) else "call_model"
