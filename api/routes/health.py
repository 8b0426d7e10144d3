"""Liveness (/health) and readiness (/ready: upstream, database, tool sources)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.upstream_check import probe_upstream
from api.deps import Services, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up; says nothing about the upstream."""
    return {"status": "ok"}


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics: turns, model calls, tool calls, server tool results."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    """Whether the upstream model server and the session database answer."""
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
    }
    return JSONResponse(body, status_code=200 if ok else 503)


async def check_upstream(services: Services) -> dict[str, Any]:
    """GET {LLM_BASE_URL}/models with a short timeout; a problem says what to fix."""
    settings = services.settings
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    probe = await probe_upstream(settings.llm_base_url, key)
    return {"ok": probe.ok, "url": probe.url} | ({"error": probe.problem} if probe.problem else {})


async def check_database(services: Services) -> dict[str, Any]:
    """Read one (absent) thread through the checkpointer."""
    try:
        config = {"configurable": {"thread_id": "__readiness__", "checkpoint_ns": ""}}
        await asyncio.wait_for(services.checkpointer.aget_tuple(config), 3.0)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}
