"""GET /v1/models and /v1/models/{id}: every model the backends serve."""

from __future__ import annotations

import time

from fastapi import APIRouter

from agent.llm.backend_pool import model_not_found
from api.deps import ServicesDep
from api.openapi import error_responses
from api.protocol import ModelCard, ModelList

router = APIRouter(prefix="/v1/models", tags=["models"])
_STARTED = int(time.time())


@router.get("")
async def list_models(services: ServicesDep) -> ModelList:
    """The models clients can name (with only LLM_BASE_URL, any name goes to LLM_MODEL)."""
    return ModelList(
        data=[ModelCard(id=name, created=_STARTED) for name in services.backends.models()]
    )


@router.get("/{model_id:path}", responses=error_responses(404))
async def get_model(model_id: str, services: ServicesDep) -> ModelCard:
    """One model, or 404."""
    available = services.backends.models()
    if model_id not in available:
        raise model_not_found(model_id, available)
    return ModelCard(id=model_id, created=_STARTED)
