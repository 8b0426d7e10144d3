"""Request-scoped access to what the lifespan opened, as `Annotated` dependencies."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from langgraph.graph.state import CompiledStateGraph

from agent.errors import AgentError
from agent.settings import Settings
from api.sessions import Sessions
from graph.locks import SessionLocks
from mcp_tools.registry import ToolRegistry


@dataclass
class Services:
    """Everything the routes use, built once in the lifespan."""

    settings: Settings
    graph: CompiledStateGraph
    sessions: Sessions
    locks: SessionLocks
    tools: ToolRegistry
    checkpointer: Any


def get_services(request: Request) -> Services:
    """The services of the running app."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def require_api_key(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """When API_KEY is set, require `Authorization: Bearer <API_KEY>`."""
    expected = get_services(request).settings.api_key
    if expected is None:
        return
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not secrets.compare_digest(token, expected.get_secret_value()):
        raise AgentError(
            "Missing or wrong API key: send `Authorization: Bearer <API_KEY>`.",
            code="invalid_api_key",
        )
