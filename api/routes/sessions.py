"""Session history, delete and reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ServicesDep

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.get("/{session_id}")
async def get_session(session_id: str, services: ServicesDep) -> dict[str, Any]:
    """The session's instructions and messages, as OpenAI chat messages."""
    return await services.sessions.history(session_id)


@router.delete("/{session_id}")
async def delete_session(session_id: str, services: ServicesDep) -> dict[str, Any]:
    """Forget the session."""
    async with services.locks.hold(session_id):
        await services.sessions.delete(session_id)
    return {"id": session_id, "object": "session.deleted", "deleted": True}


@router.post("/{session_id}/reset")
async def reset_session(session_id: str, services: ServicesDep) -> dict[str, Any]:
    """Clear the session's messages; its id and instructions stay."""
    async with services.locks.hold(session_id):
        await services.sessions.reset(session_id)
    return await services.sessions.history(session_id)
