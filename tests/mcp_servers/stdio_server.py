"""A stdio MCP server whose tools exercise the client's failure handling.

Run: `python -m tests.mcp_servers.stdio_server`.
"""

from __future__ import annotations

import asyncio
import os
import time

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("test-stdio", log_level="WARNING")
_calls = {"count": 0}


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
def pid() -> int:
    """The server's process id (tells a reconnect from a live session)."""
    return os.getpid()


@mcp.tool()
def counter() -> int:
    """How often this tool was called in this server process."""
    _calls["count"] += 1
    return _calls["count"]


@mcp.tool()
def info() -> dict[str, str]:
    """Structured data: the value of TEST_MCP_GREETING and the working directory."""
    return {"greeting": os.environ.get("TEST_MCP_GREETING", ""), "cwd": os.getcwd()}


@mcp.tool()
def lines(n: int) -> list[str]:
    """`n` separate text blocks."""
    return [f"line {i}" for i in range(n)]


@mcp.tool()
def fail(message: str) -> str:
    """Raise an error (reported to the client as an MCP `isError` result)."""
    raise ValueError(message)


@mcp.tool()
def big_error(n: int) -> str:
    """Raise an error whose message is `n` characters."""
    raise ValueError("E" * n)


@mcp.tool()
def crash() -> str:
    """Kill this server process in the middle of the call."""
    os._exit(1)


@mcp.tool()
def hang() -> str:
    """Block the whole server (a synchronous sleep stalls its event loop)."""
    time.sleep(3600)
    return "never"


@mcp.tool()
async def hang_async() -> str:
    """Never answer this call, while the server keeps serving others."""
    await asyncio.sleep(3600)
    return "never"


@mcp.tool()
def big_output(n: int) -> str:
    """A string of `n` characters."""
    return "x" * n


if __name__ == "__main__":
    mcp.run(transport="stdio")
