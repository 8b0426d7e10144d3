"""The server-side tool listing shared by GET /v1/tools and `oss-agent tools`."""

from __future__ import annotations

from typing import Any

from mcp_tools.registry import ToolRegistry


def tool_listing(tools: ToolRegistry) -> dict[str, Any]:
    """Tools (name, description, schema, source, status) and failed or loaded sources."""
    data = [
        {
            "name": entry.name,
            "description": entry.tool.description,
            "parameters": entry.openai_schema()["function"].get("parameters", {}),
            "source": entry.source,
            "status": "ok",
        }
        for entry in (tools.entries[name] for name in tools.names())
    ]
    sources = [
        {
            "name": s.name,
            "status": "ok" if s.ok else "failed",
            "error": s.error,
            "tools": s.tool_count,
        }
        for s in tools.sources.values()
    ]
    return {"object": "list", "data": data, "sources": sources}
