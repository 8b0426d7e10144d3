"""A streamable-HTTP MCP server on 127.0.0.1.

Run: `python -m tests.mcp_servers.http_server --port N` (endpoint `/mcp`).
"""

from __future__ import annotations

import argparse

import uvicorn
from mcp.server.fastmcp import Context, FastMCP

mcp = FastMCP("test-http", log_level="WARNING")

_WEATHER = {"paris": ("sunny", 21), "oslo": ("snow", -3), "lima": ("cloudy", 18)}


@mcp.tool()
def lookup_weather(city: str) -> str:
    """Deterministic weather for a city."""
    sky, temp = _WEATHER.get(city.lower(), ("unknown", 0))
    return f"{city}: {sky}, {temp} C"


@mcp.tool()
def word_count(text: str) -> int:
    """Number of whitespace-separated words in the text."""
    return len(text.split())


@mcp.tool()
def calculator(expression: str) -> str:
    """Clashes with the built-in `calculator`; only echoes the expression."""
    return f"remote calculator got {expression}"


@mcp.tool()
def read_header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header sent by the client."""
    request = ctx.request_context.request
    return request.headers.get(name, "") if request is not None else ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(mcp.streamable_http_app(), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
