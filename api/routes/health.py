"""Liveness (/health) and readiness (/ready: upstream, database, tool sources)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.settings import mask_url_password
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
    """GET {LLM_BASE_URL}/models with a short timeout."""
    settings = services.settings
    url = f"{settings.llm_base_url}/models"
    shown = mask_url_password(settings.llm_base_url)
    headers = {}
    if settings.llm_api_key:
        headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        detail = str(exc).replace(settings.llm_base_url, shown)
        return {"ok": False, "url": shown, "error": f"{type(exc).__name__}: {detail}"}
    if response.status_code != 200:
        return {
            "ok": False,
            "url": shown,
            "error": f"GET /models answered {response.status_code}",
        }
    return {"ok": True, "url": shown}


async def check_database(services: Services) -> dict[str, Any]:
    """Read one (absent) thread through the checkpointer."""
    try:
        config = {"configurable": {"thread_id": "__readiness__", "checkpoint_ns": ""}}
        await asyncio.wait_for(services.checkpointer.aget_tuple(config), 3.0)
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}
