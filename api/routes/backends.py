"""GET /v1/backends (any key); POST /v1/backends and DELETE /v1/backends/{name} (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agent.errors import AgentError
from agent.llm.backend_config import BackendSpec
from api.body_guard import ParsedBodyRoute
from api.deps import ServicesDep
from api.keys import AdminDep
from api.openapi import BODY, error_responses

router = APIRouter(prefix="/v1/backends", tags=["backends"], route_class=ParsedBodyRoute)


@router.get("")
async def list_backends(services: ServicesDep) -> dict[str, Any]:
    """Each backend's health, in-flight calls, last error and latency."""
    data = [backend.describe() for backend in services.backends.backends.values()]
    return {"object": "list", "data": data}


@router.post("", status_code=201, responses=error_responses(*BODY, 403))
async def register_backend(
    spec: BackendSpec, services: ServicesDep, admin: AdminDep
) -> dict[str, Any]:
    """Add (or replace) a backend; it serves new turns at once here, and in every process
    sharing the database within BACKEND_SYNC_INTERVAL seconds."""
    if services.store.registry is not None:
        await services.store.registry.put(spec)
    return services.backends.register(spec).describe()


@router.delete("/{name}", responses=error_responses(403, 404))
async def remove_backend(name: str, services: ServicesDep, admin: AdminDep) -> dict[str, Any]:
    """Take a backend out, here at once and in every process sharing the database within
    BACKEND_SYNC_INTERVAL seconds; its turns in flight finish on it."""
    registered = (
        services.store.registry is not None and name in await services.store.registry.names()
    )
    if services.backends.remove(name) is None and not registered:
        raise AgentError(
            f"No backend named {name!r}; GET /v1/backends lists them.",
            param="name",
            code="backend_not_found",
        )
    if services.store.registry is not None:
        await services.store.registry.remove(name)
    return {"name": name, "object": "backend.deleted", "deleted": True}
