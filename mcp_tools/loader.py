"""Collect every server-side tool: enabled built-ins, then MCP servers (fail-soft)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agent.settings import Settings
from mcp_tools.builtin import builtin_tools
from mcp_tools.registry import BUILTIN, SourceStatus, ToolEntry, ToolRegistry


def builtin_registry(settings: Settings) -> ToolRegistry:
    """A registry holding the built-in tools TOOLS_ENABLED selects."""
    registry = ToolRegistry()
    tools = builtin_tools(settings)
    for tool in tools:
        registry.add(ToolEntry(tool, BUILTIN))
    registry.sources[BUILTIN] = SourceStatus(BUILTIN, ok=True, tool_count=len(tools))
    return registry


@asynccontextmanager
async def open_tools(settings: Settings) -> AsyncIterator[ToolRegistry]:
    """The tool registry for the life of the service."""
    yield builtin_registry(settings)
