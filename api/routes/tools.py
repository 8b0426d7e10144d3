"""GET /v1/tools: every server-side tool the agent can call, and every source's status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep
from mcp_tools.listing import tool_listing

router = APIRouter(prefix="/v1/tools", tags=["tools"])


@router.get("")
async def list_tools(services: ServicesDep) -> dict[str, Any]:
    """The server-side tool listing."""
    return tool_listing(services.tools)
