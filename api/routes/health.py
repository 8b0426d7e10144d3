"""Liveness (/health), metrics and readiness (/ready: upstream, database, tool sources)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from agent.errors import AgentError
from agent.metrics import exposition
from api.deps import ServicesDep
from api.keys import caller_of

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up; says nothing about the upstream."""
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics() -> Response:
    """Prometheus metrics: turns, model calls, tool calls, server tool results."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/ready", responses={503: {"description": "Not ready: the same fields"}})
async def ready(
    request: Request, services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """Whether a model server and the session database answer (checked at most once per
    READY_CACHE_SECONDS). Only a caller the keys admit sees the details: the backends, the
    database error, the tool sources and the turn queue."""
    readiness = await services.readiness.current(services)
    status_code = 200 if readiness.ok else 503
    # `oss-agent serve --demo`: everyone (the chat page too) learns the answers are scripted
    demo = {"demo": notice} if (notice := getattr(request.app.state, "demo", None)) else {}
    if not _admitted(request, authorization):
        return JSONResponse({"status": "ok" if readiness.ok else "not ready", **demo}, status_code)
    sources = [
        {"name": s.name, "ok": s.ok, "error": s.error, "tools": s.tool_count}
        for s in services.tools.sources.values()
    ]
    body = {
        "status": "ready" if readiness.ok else "not_ready",
        **readiness.details,
        "tool_sources": sources,
        "queue": services.limiter.status(),
        **demo,
    }
    return JSONResponse(body, status_code)


def _admitted(request: Request, authorization: str | None) -> bool:
    """Whether the bearer key is one the routes accept (anyone when no key is configured)."""
    try:
        caller_of(request, authorization)
    except AgentError:
        return False
    return True
