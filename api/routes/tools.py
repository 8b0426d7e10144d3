"""GET /v1/tools: every server-side tool the agent can call, and every source's status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep
from mcp_tools.registry import ToolRegistry

router = APIRouter(prefix="/v1/tools", tags=["tools"])


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


@router.get("")
async def list_tools(services: ServicesDep) -> dict[str, Any]:
    """The server-side tool listing."""
    return tool_listing(services.tools)
