"""GET /v1/models and /v1/models/{id}: the one agent model this service offers."""

from __future__ import annotations

import time

from fastapi import APIRouter

from agent.errors import AgentError
from api.deps import ServicesDep
from api.protocol import ModelCard, ModelList

router = APIRouter(prefix="/v1/models", tags=["models"])
_STARTED = int(time.time())


@router.get("")
async def list_models(services: ServicesDep) -> ModelList:
    """The model clients should name (any name is accepted and served by it)."""
    return ModelList(data=[ModelCard(id=services.settings.llm_model, created=_STARTED)])


@router.get("/{model_id:path}")
async def get_model(model_id: str, services: ServicesDep) -> ModelCard:
    """One model, or 404."""
    if model_id != services.settings.llm_model:
        raise AgentError(
            f"Model {model_id!r} does not exist; this service offers "
            f"{services.settings.llm_model!r}.",
            param="model",
            code="model_not_found",
        )
    return ModelCard(id=model_id, created=_STARTED)
