"""POST /v1/chat/completions: one agent turn on a session, streamed or not."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse

from api import turns
from api.body_guard import ParsedBodyRoute
from api.chat_render import ChunkWriter, completion_response, sse_events
from api.deps import Services, ServicesDep
from api.keys import CallerDep
from api.logs import note
from api.openapi import STREAM_RESPONSE, TURN, error_responses
from api.protocol import ChatCompletionRequest, ChatCompletionResponse
from api.sessions import SESSION_ID_HEADER, USER_ID_HEADER, continuity
from api.sse import FinishOnDisconnect, TurnEventStream

router = APIRouter(prefix="/v1", tags=["chat"], route_class=ParsedBodyRoute)
CONTEXT_TRIMMED_HEADER = "X-Context-Trimmed"
"""Set when the turn's model calls left out this many of the oldest stored messages."""
SessionHeader = Annotated[str | None, Header(alias=SESSION_ID_HEADER)]
UserIdHeader = Annotated[str | None, Header(alias=USER_ID_HEADER)]


@router.post(
    "/chat/completions",
    response_model=ChatCompletionResponse,
    responses={**STREAM_RESPONSE, **error_responses(*TURN)},
)
async def create_chat_completion(
    request: ChatCompletionRequest,
    services: ServicesDep,
    caller: CallerDep,
    finish_without_client: FinishOnDisconnect,
    x_session_id: SessionHeader = None,
    x_openwebui_user_id: UserIdHeader = None,
) -> Response:
    """Answer the request's new messages within the session named by X-Session-ID."""
    given = (x_session_id or "").strip() or None
    client = ""
    if given is None and services.settings.session_continuity:
        given, client = await continuity(services, caller, request, x_openwebui_user_id)
    opened = turns.begin(services, request, caller, given, client=client)
    if request.stream:
        watched = caller.owner if finish_without_client else None
        return await _stream(services, request, opened, watched)
    activity: list[dict[str, Any]] | None = [] if request.tool_activity else None
    async with opened as turn:
        outcome = await turn.run(activity)
    body = completion_response(outcome, turn.model, activity)
    note(tokens=body.usage.total_tokens)
    headers = {SESSION_ID_HEADER: turn.session_id}
    if outcome.trimmed_messages:
        headers[CONTEXT_TRIMMED_HEADER] = str(outcome.trimmed_messages)
    return JSONResponse(body.model_dump(), headers=headers)


async def _stream(
    services: Services,
    request: ChatCompletionRequest,
    opened: AbstractAsyncContextManager[turns.Turn],
    watched_by: str | None,
) -> Response:
    """Start the turn; failures before the first delta still get a proper HTTP status. A
    turn that goes on without its client (`watched_by` its owner) is recorded for watching
    (api/live_turns.py)."""
    streamed = await turns.streamed(opened)
    turn = streamed.turn
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    writer = ChunkWriter(turn.model, include_usage, request.tool_activity)
    body = sse_events(streamed.events, writer)
    if watched_by is not None and services.live is not None:
        body = services.live.recorded(body, turn.session_id, watched_by)
    headers = {SESSION_ID_HEADER: turn.session_id, "Cache-Control": "no-cache"}
    finish = watched_by is not None
    return TurnEventStream.of(body, services.settings, headers, finish, sep="\n")
