"""Collect every server-side tool: enabled built-ins, then MCP servers (fail-soft)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agent.settings import Settings
from mcp_tools.builtin import builtin_tools
from mcp_tools.registry import BUILTIN, SourceStatus, ToolEntry, ToolRegistry

logger = logging.getLogger(__name__)


def builtin_registry(settings: Settings) -> ToolRegistry:
    """A registry holding the built-in tools TOOLS_ENABLED selects."""
    registry = ToolRegistry()
    tools = builtin_tools(settings)
    for tool in tools:
        registry.add(ToolEntry(tool, BUILTIN))
    registry.sources[BUILTIN] = SourceStatus(BUILTIN, ok=True, tool_count=len(tools))
    return registry


@asynccontextmanager
async def _mcp_tools(
    settings: Settings,
) -> AsyncIterator[tuple[list[ToolEntry], list[SourceStatus]]]:
    """The MCP servers' tools; the MCP SDK (seconds to import) only when a config is in use."""
    if settings.mcp_config_in_use is None:
        yield [], []
        return
    from mcp_tools.mcp_client import open_mcp_tools

    async with open_mcp_tools(settings) as found:
        yield found


@asynccontextmanager
async def open_tools(settings: Settings) -> AsyncIterator[ToolRegistry]:
    """The tool registry for the life of the service; MCP sessions close with it."""
    registry = await asyncio.to_thread(builtin_registry, settings)  # touches the filesystem
    async with _mcp_tools(settings) as (entries, statuses):
        for entry in entries:
            registry.add(entry)
        for status in statuses:
            registry.sources[status.name] = status
            if not status.ok:
                logger.warning("MCP server %s failed: %s", status.name, status.error)
        yield registry
