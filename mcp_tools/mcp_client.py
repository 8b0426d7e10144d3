"""Load the tools of the MCP servers named in MCP_CONFIG, per server and fail-soft.

Each server keeps one persistent session (see `McpConnection`); open the tools with
`async with open_mcp_tools(settings) as (entries, statuses)` for the app's lifetime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from langchain_mcp_adapters.tools import load_mcp_tools as list_adapter_tools

from agent.settings import Settings
from mcp_tools.mcp_config import McpConfigError, McpServerConfig, read_mcp_config
from mcp_tools.mcp_connection import McpConnection, McpStartError
from mcp_tools.mcp_results import describe_exception, result_to_text
from mcp_tools.registry import SourceStatus, ToolEntry

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT = 30.0  # seconds a server gets to start and list its tools
CLOSE_TIMEOUT = 10.0  # seconds to wait for all sessions to shut down


@dataclass
class McpToolset:
    """The tools loaded from MCP servers, their load statuses and the live sessions."""

    entries: list[ToolEntry] = field(default_factory=list)
    statuses: list[SourceStatus] = field(default_factory=list)
    connections: list[McpConnection] = field(default_factory=list)

    async def aclose(self) -> None:
        """Shut every session down (stdio processes exit, HTTP sessions end)."""
        closing = asyncio.gather(*(conn.aclose() for conn in self.connections))
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await closing
        except TimeoutError:
            logger.warning("MCP sessions did not shut down within %g s", CLOSE_TIMEOUT)


async def start_mcp_toolset(
    settings: Settings, startup_timeout: float = STARTUP_TIMEOUT
) -> McpToolset:
    """Start every enabled server concurrently; a failing one only fails its own status."""
    path = settings.mcp_config_in_use
    if path is None:
        return McpToolset()
    try:
        config = read_mcp_config(path)
    except McpConfigError as exc:
        return McpToolset(statuses=[SourceStatus(path.name, ok=False, error=str(exc))])
    toolset = McpToolset(
        statuses=[SourceStatus(name, ok=False, error=why) for name, why in config.errors.items()]
    )
    for name in config.disabled:
        logger.info("MCP server %r is disabled in %s", name, path)
    started = await asyncio.gather(
        *(start_server(server, settings, startup_timeout) for server in config.servers)
    )
    for connection, entries, status in started:
        toolset.connections.append(connection)
        toolset.entries.extend(entries)
        toolset.statuses.append(status)
    return toolset


@asynccontextmanager
async def open_mcp_tools(
    settings: Settings,
) -> AsyncIterator[tuple[list[ToolEntry], list[SourceStatus]]]:
    """`async with open_mcp_tools(settings) as (entries, statuses):` for an app lifespan."""
    toolset = await start_mcp_toolset(settings)
    try:
        yield toolset.entries, toolset.statuses
    finally:
        await toolset.aclose()


async def start_server(
    server: McpServerConfig, settings: Settings, startup_timeout: float
) -> tuple[McpConnection, list[ToolEntry], SourceStatus]:
    connection = McpConnection(server, startup_timeout)
    time_limit = server.timeout or settings.mcp_call_timeout
    try:
        session = await connection.start()
        async with asyncio.timeout(connection.startup_timeout):
            listed = await list_adapter_tools(session, server_name=server.name)
    except McpStartError as exc:
        return connection, [], _failed(connection, str(exc))
    except TimeoutError:
        return connection, [], _failed(connection, "no answer to tools/list")
    except Exception as exc:
        return connection, [], _failed(connection, describe_exception(exc))
    entries = [ToolEntry(_bind_tool(connection, tool, time_limit), server.name) for tool in listed]
    logger.info("MCP server %r: %d tool(s)", server.name, len(entries))
    return connection, entries, SourceStatus(server.name, ok=True, tool_count=len(entries))


def _failed(connection: McpConnection, reason: str) -> SourceStatus:
    logger.warning("MCP server %r failed to start: %s", connection.name, reason)
    connection.reset()
    return SourceStatus(connection.name, ok=False, error=reason)


def _bind_tool(connection: McpConnection, listed: BaseTool, time_limit: float) -> StructuredTool:
    """A LangChain tool that calls `listed` through the server's persistent session."""
    mcp_name = listed.name  # kept: the registry may rename the tool on a clash

    async def call_mcp_tool(**arguments: Any) -> str:
        result = await connection.call_tool(mcp_name, arguments, time_limit)
        return result_to_text(result)

    return StructuredTool(
        name=mcp_name,
        description=listed.description,
        args_schema=listed.args_schema,
        coroutine=call_mcp_tool,
        metadata={**(listed.metadata or {}), "mcp_server": connection.name, "mcp_tool": mcp_name},
    )
