"""Turn MCP call results and failures into plain text for the model."""

from __future__ import annotations

import json
from typing import Any

import anyio
from langchain_core.tools import ToolException
from mcp import McpError, types
from mcp.types import CONNECTION_CLOSED


def result_to_text(result: types.CallToolResult) -> str:
    """Flatten content blocks to text; structured content as JSON when there is no text."""
    parts = [block_to_text(block) for block in result.content]
    text_blocks = [block for block in result.content if isinstance(block, types.TextContent)]
    if result.structuredContent is not None and not text_blocks:
        parts.append(json.dumps(result.structuredContent, ensure_ascii=False))
    return "\n".join(parts)


def block_to_text(block: Any) -> str:
    """One MCP content block as text; binary blocks become a short placeholder."""
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind} {block.mimeType}, {len(block.data)} base64 chars, not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource {block.uri}" + (f" ({block.name})]" if block.name else "]")
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return resource.text
        return f"[resource {resource.uri}, {resource.mimeType or 'binary'}, not shown]"
    return f"[unsupported MCP content {type(block).__name__}]"


def tool_error(server: str, tool: str, detail: str) -> ToolException:
    """The error for an MCP `isError` result or error reply, with the server's own message."""
    detail = detail.strip() or "no details given"
    return ToolException(f"MCP tool '{tool}' (server '{server}') reported an error: {detail}")


def timeout_error(server: str, tool: str, seconds: float) -> ToolException:
    """The error for a call the server did not answer in time."""
    return ToolException(
        f"MCP server '{server}' did not answer the call to '{tool}' within {seconds:g} s; "
        "the call was abandoned."
    )


def closed_error(server: str, tool: str) -> ToolException:
    """The error for a connection that broke during the call (e.g. the server crashed)."""
    return ToolException(
        f"MCP server '{server}' closed the connection during the call to '{tool}' "
        "(it probably crashed); it will be restarted on the next call."
    )


def unavailable_error(server: str, reason: str) -> ToolException:
    """The error for a server that cannot be (re)started."""
    return ToolException(f"MCP server '{server}' is unavailable: {reason}")


# Writing to a server that has just exited (seen on a loaded machine, before the read side
# reports the closed connection).
_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, BrokenPipeError)


def describe_exception(exc: BaseException) -> str:
    """A one-line reason, unwrapping the exception groups raised by anyio task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if (isinstance(exc, McpError) and exc.error.code == CONNECTION_CLOSED) or isinstance(
        exc, _GONE
    ):
        return "the server closed the connection (did its process exit? see its stderr)"
    if isinstance(exc, McpError):
        return f"the server answered with an error: {exc.error.message}"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
