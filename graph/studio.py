"""The graph for `langgraph dev` / LangGraph Studio (langgraph.json), without a checkpointer.

The LangGraph server brings its own persistence and rejects a graph compiled with one, so
this factory compiles the same graph as the service and leaves persistence to the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from agent.settings import Settings
from graph.builder import build_graph
from graph.deps import AgentDeps
from mcp_tools.loader import open_tools


@asynccontextmanager
async def make_graph(config: RunnableConfig) -> AsyncIterator[CompiledStateGraph]:
    """The agent for one use by the server; its tools (and MCP sessions) live as long."""
    settings = Settings()
    async with open_tools(settings) as tools:
        deps = AgentDeps.create(settings, tools)
        try:
            yield build_graph(deps)
        finally:
            await deps.backends.aclose()
