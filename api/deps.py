"""Request-scoped access to what the lifespan opened, as `Annotated` dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from langgraph.graph.state import CompiledStateGraph

from agent.backends import BackendPool
from agent.settings import Settings
from api.queue import TurnLimiter
from api.sessions import Sessions
from graph.locks import SessionLocks
from graph.owners import Owners
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
    owners: Owners
    limiter: TurnLimiter
    backends: BackendPool


def get_services(request: Request) -> Services:
    """The services of the running app."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
