"""HTTP routes, one module per endpoint family."""

from fastapi import APIRouter, Depends

from api.deps import require_database
from api.keys import require_caller
from api.openapi import error_responses
from api.routes import (
    backends,
    chat,
    docs,
    health,
    models,
    page,
    queue,
    responses,
    sessions,
    tools,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(page.router)
api_router.include_router(queue.router)
api_router.include_router(docs.router)
protected = APIRouter(dependencies=[Depends(require_caller)], responses=error_responses(401))
for module in (backends, models, tools):
    protected.include_router(module.router)
api_router.include_router(protected)
stored = APIRouter(
    dependencies=[Depends(require_caller), Depends(require_database)],
    responses=error_responses(401, 503),
)
for module in (chat, responses, sessions):
    stored.include_router(module.router)
api_router.include_router(stored)
