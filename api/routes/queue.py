"""GET /queue/status: turns running and waiting in this process."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/queue/status")
async def queue_status(services: ServicesDep) -> dict[str, Any]:
    """running, queued, max_running, max_queued and the oldest wait in seconds."""
    return services.limiter.status()
