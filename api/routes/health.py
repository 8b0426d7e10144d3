"""Liveness (/health) and readiness (/ready: upstream, database, tool sources)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.backend_health import check_all
from agent.settings import mask_url_password
from api.deps import Services, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up; says nothing about the upstream."""
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics() -> Response:
    """Prometheus metrics: turns, model calls, tool calls, server tool results."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/ready", responses={503: {"description": "Not ready: the same fields"}})
async def ready(services: ServicesDep) -> JSONResponse:
    """Whether a model server and the session database answer; the turn queue."""
    upstream, database = await asyncio.gather(check_upstream(services), check_database(services))
    sources = [
        {"name": s.name, "ok": s.ok, "error": s.error, "tools": s.tool_count}
        for s in services.tools.sources.values()
    ]
    ok = upstream["ok"] and database["ok"]
    body = {
        "status": "ready" if ok else "not_ready",
        "upstream": upstream,
        "database": database,
        "tool_sources": sources,
        "queue": services.limiter.status(),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


async def check_upstream(services: Services) -> dict[str, Any]:
    """GET {base_url}/models of every backend with a short timeout; ok when one answers."""
    results = await check_all(services.backends)
    backends = [
        {
            "name": backend.spec.name,
            "url": mask_url_password(backend.spec.base_url),
            "ok": answered,
            "error": None if answered else backend.last_error,
        }
        for backend, answered in results
    ]
    return {"ok": any(answered for _, answered in results), "backends": backends}


async def check_database(services: Services) -> dict[str, Any]:
    """Read one (absent) thread through the checkpointer."""
    try:
        config = {"configurable": {"thread_id": "__readiness__", "checkpoint_ns": ""}}
        await asyncio.wait_for(services.checkpointer.aget_tuple(config), 3.0)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}
