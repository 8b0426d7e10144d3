"""HTTP routes, one module per endpoint family."""

from fastapi import APIRouter, Depends

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
for module in (backends, chat, models, responses, sessions, tools):
    protected.include_router(module.router)
api_router.include_router(protected)
