"""The caller's sessions: list, history, rename, delete and reset; watch or stop the chat turn
that goes on without its client (api/live_turns.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, StringConstraints

from api.body_guard import ParsedBodyRoute
from api.deps import ServicesDep
from api.keys import ANONYMOUS, CallerDep, keys_required
from api.openapi import BODY, SESSION_CHANGE, STREAM_RESPONSE, error_responses
from api.sessions import MAX_PAGE_SIZE, PAGE_SIZE, SESSION_ID_HEADER, owned_sessions, require_owned
from api.sse import TurnEventStream

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=ParsedBodyRoute)


@router.get("", responses=error_responses(400, 403))
async def list_sessions(
    services: ServicesDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    after: Annotated[str | None, Query(max_length=128)] = None,
    order: Literal["asc", "desc"] = "asc",
) -> dict[str, Any]:
    """One page of the sessions the caller's key created, oldest first (`order=desc`:
    newest first); `after` = the previous page's `last_id`. Refused in open mode, where
    every caller is the same anonymous owner."""
    if caller.owner == ANONYMOUS:
        raise keys_required()
    return await owned_sessions(
        services.sessions, services.store.owners, caller, after, limit, order == "desc"
    )


@router.get("/{session_id}", responses=error_responses(404))
async def get_session(session_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """The session's instructions and messages, as OpenAI chat messages."""
    await require_owned(services.store.owners, session_id, caller)
    return await services.sessions.history(session_id)


class SessionRename(BaseModel):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


@router.patch("/{session_id}", responses=error_responses(*BODY, *SESSION_CHANGE))
async def rename_session(
    session_id: str, body: SessionRename, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    """Set the session's title (what the list shows instead of its first words)."""
    await require_owned(services.store.owners, session_id, caller)
    async with services.store.locks.hold(session_id):
        await services.sessions.rename(session_id, body.title)
    return await services.sessions.history(session_id)


@router.delete("/{session_id}", responses=error_responses(*SESSION_CHANGE))
async def delete_session(
    session_id: str, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    """Forget the session."""
    await require_owned(services.store.owners, session_id, caller)
    async with services.store.locks.hold(session_id):
        await services.sessions.delete(session_id)
        await services.store.owners.forget(session_id)
        if services.background is not None:
            await services.background.store.forget_session(session_id)
    return {"id": session_id, "object": "session.deleted", "deleted": True}


@router.post("/{session_id}/reset", responses=error_responses(*SESSION_CHANGE))
async def reset_session(
    session_id: str, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    """Clear the session's messages; its id and instructions stay."""
    await require_owned(services.store.owners, session_id, caller)
    async with services.store.locks.hold(session_id):
        await services.sessions.reset(session_id)
    return await services.sessions.history(session_id)


@router.get("/{session_id}/live", responses={**STREAM_RESPONSE, **error_responses(404)})
async def watch_live_turn(
    session_id: str,
    services: ServicesDep,
    caller: CallerDep,
    starting_after: Annotated[int, Query(ge=-1)] = -1,
) -> Response:
    """The session's chat turn sent with `X-On-Disconnect: finish`, as the chunks of its
    stream after number `starting_after` (each chunk's number is its SSE `id`), then live
    until it ends; 204 when there is none to watch."""
    await require_owned(services.store.owners, session_id, caller)
    await services.sessions.require(session_id)
    row = await services.live.latest(session_id) if services.live else None
    if row is None:
        return Response(status_code=204)
    chunks = services.live.watch(row, starting_after)
    headers = {SESSION_ID_HEADER: session_id, "Cache-Control": "no-cache"}
    return TurnEventStream.of(chunks, services.settings, headers, sep="\n")


@router.post("/{session_id}/live/cancel", responses=error_responses(404))
async def cancel_live_turn(
    session_id: str, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    """Stop the session's running chat turn (sent with `X-On-Disconnect: finish`): it is
    rolled back, nothing stored. `cancelled` says whether one was running."""
    await require_owned(services.store.owners, session_id, caller)
    await services.sessions.require(session_id)
    row = await services.live.latest(session_id) if services.live else None
    cancelled = row is not None and await services.live.cancel(row)
    return {"id": session_id, "object": "session.live", "cancelled": cancelled}
