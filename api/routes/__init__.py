"""HTTP routes, one module per endpoint family."""

from fastapi import APIRouter, Depends

from api.deps import require_api_key
from api.routes import chat, health, models, sessions, tools

api_router = APIRouter()
api_router.include_router(health.router)
protected = APIRouter(dependencies=[Depends(require_api_key)])
for module in (chat, models, sessions, tools):
    protected.include_router(module.router)
api_router.include_router(protected)
