"""Request-scoped access to what the lifespan opened, as `Annotated` dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from langgraph.graph.state import CompiledStateGraph

from agent.llm.backend_pool import BackendPool
from agent.settings import Settings
from api.queue import TurnLimiter
from api.readiness import ReadinessCheck
from api.sessions import Sessions
from graph.store import SessionStore
from mcp_tools.registry import ToolRegistry

if TYPE_CHECKING:
    from api.live_turns import LiveTurns
    from api.responses.background import BackgroundResponses


@dataclass
class Services:
    """Everything the routes use, built once in the lifespan."""

    settings: Settings
    graph: CompiledStateGraph
    sessions: Sessions
    store: SessionStore
    """The session database: saver, locks, owners, health, registered backends, background
    runs (graph/store/)."""
    tools: ToolRegistry
    limiter: TurnLimiter
    backends: BackendPool
    readiness: ReadinessCheck
    background: BackgroundResponses | None = None
    """Background responses, on the queue in the database (api/responses/background.py)."""
    live: LiveTurns | None = None
    """Chat turns going on without their client, kept for watching (api/live_turns.py)."""


def services_of(request: Request) -> Services:
    """The services of the running app."""
    return request.app.state.services


async def get_services(request: Request) -> Services:
    """`services_of` as a dependency. Dependencies are `async def` though they never wait:
    FastAPI runs a plain `def` one on a worker thread, a hand-off per request."""
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def require_database(request: Request) -> None:
    """The 503 database_unavailable before a route that needs the session database, when
    it is known to be gone (a deleted SQLite file, a Postgres that stopped answering)."""
    await services_of(request).store.health.require()
