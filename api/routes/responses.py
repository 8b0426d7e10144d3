"""POST /v1/responses, GET /v1/responses/{id} and POST /v1/responses/{id}/cancel: the
Responses API on the same sessions; background responses run on the shared queue
(api/responses/background.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from agent.errors import AgentError
from api import turns
from api.body_guard import ParsedBodyRoute
from api.deps import Services, ServicesDep
from api.keys import Caller, CallerDep
from api.openapi import STREAM_RESPONSE, TURN, error_responses
from api.responses.background import BackgroundResponses
from api.responses.events import EventWriter, Finish, response_events
from api.responses.output import ResponseRef, new_ref, response_object, unknown_response
from api.responses.request import ResponsesRequest
from api.responses.stored import stored_outcome
from api.sessions import SESSION_ID_HEADER, require_owned
from api.sse import FinishOnDisconnect, TurnEventStream
from api.turn_plan import allowed_server_tools
from graph.approval import needs_approval
from graph.turn import TurnOutcome

router = APIRouter(prefix="/v1", tags=["responses"], route_class=ParsedBodyRoute)


@router.post("/responses", responses={**STREAM_RESPONSE, **error_responses(*TURN)})
async def create_response(
    body: ResponsesRequest,
    services: ServicesDep,
    caller: CallerDep,
    finish_without_client: FinishOnDisconnect,
) -> Any:
    """One turn: on a new session, or on the session of `previous_response_id`; with
    `background: true`, queued and answered at once."""
    if body.background:
        return await _submit(body, services, caller)
    if body.previous_response_id:
        await _background(services).require_ended(body.previous_response_id, caller)
    given = (
        ResponseRef.parse(body.previous_response_id).session_id
        if body.previous_response_id
        else None
    )
    if given and not body.store:
        raise AgentError(
            "store=false cannot continue a stored conversation; omit previous_response_id"
            " or set store=true.",
            param="store",
            code="invalid_request",
        )
    if not body.store:
        _refuse_unanswerable_approvals(body, services)
    opened = _begun(body, services, caller, given)
    if body.stream:
        return await _stream(services, body, opened, finish_without_client)
    async with opened as turn:
        ref = new_ref(turn.session_id, turn.start_index)
        outcome = await turn.run()
    return JSONResponse(_finish(ref, turn, body)(outcome, {}), headers=_headers(turn))


@asynccontextmanager
async def _begun(
    body: ResponsesRequest, services: Services, caller: Caller, given: str | None
) -> AsyncIterator[turns.Turn]:
    """The turn of a request: on the session of `previous_response_id` (the response's 404
    when that session is not found as the turn begins), forgotten at its end with
    store=false."""
    chat, servers = body.to_chat(services.tools.names()), body.mcp_servers()
    began = False
    try:
        async with turns.begin(services, chat, caller, given, servers=servers) as turn:
            began = True
            if not body.store:
                turn.on_end(lambda: _forget(services, turn.session_id))
            yield turn
    except AgentError as exc:
        if given and not began and exc.code == "session_not_found":
            raise unknown_response(body.previous_response_id or "") from exc
        raise


def _finish(ref: ResponseRef, turn: turns.Turn, body: ResponsesRequest) -> Finish:
    def finish(outcome: TurnOutcome | None, fields: dict[str, Any]) -> dict[str, Any]:
        return response_object(ref, turn.model, outcome, **body.echoed(), **fields)

    return finish


def _headers(turn: turns.Turn) -> dict[str, str]:
    return {SESSION_ID_HEADER: turn.session_id}


async def _stream(
    services: Services,
    body: ResponsesRequest,
    opened: AbstractAsyncContextManager[turns.Turn],
    finish_without_client: bool,
) -> TurnEventStream:
    streamed = await turns.streamed(opened, until_first_event=False)
    turn = streamed.turn
    ref = new_ref(turn.session_id, turn.start_index)
    frames = response_events(streamed.events, EventWriter(ref), _finish(ref, turn, body))
    headers = {**_headers(turn), "Cache-Control": "no-cache"}
    return TurnEventStream.of(frames, services.settings, headers, finish_without_client)


def _refuse_unanswerable_approvals(body: ResponsesRequest, services: Services) -> None:
    """store=false keeps nothing, so a turn that stops for approval could never be resumed:
    refuse it while a server tool this request may call needs approval."""
    allowed = allowed_server_tools(body.metadata, services.tools)
    client = {tool.get("name") for tool in body.tools or []}  # a client tool shadows ours
    patterns = services.settings.tools_require_approval
    waiting = [
        entry.name
        for entry in services.tools.select(allowed)
        if entry.name not in client and needs_approval(entry.name, patterns)
    ]
    waiting += [
        server.label
        for server in body.mcp_servers()
        if server.approval != "never"  # some of its tools may need approval
    ]
    if waiting:
        raise AgentError(
            f"store=false cannot be used while server tools {waiting} need approval"
            " (TOOLS_REQUIRE_APPROVAL, or an mcp tool's require_approval): the turn would stop"
            " for an approval that could never be answered. Set store=true, or leave those"
            " tools out with metadata.tools (require_approval: never for an mcp tool).",
            param="store",
            code="invalid_request",
        )


async def _forget(services: Services, session_id: str) -> None:
    """store=false: nothing of the turn is kept."""
    await services.sessions.delete(session_id)
    await services.store.owners.forget(session_id)


@router.get("/responses/{response_id}", responses={**STREAM_RESPONSE, **error_responses(404)})
async def get_response(
    response_id: str,
    services: ServicesDep,
    caller: CallerDep,
    stream: bool = False,
    starting_after: Annotated[int, Query(ge=-1)] = -1,
) -> Any:
    """A stored response, rebuilt from its session; a background response as it stands,
    or with `stream=true` its events after `starting_after`, then live until it ends."""
    ref = ResponseRef.parse(response_id)
    if ref.run is not None:
        row = await _background(services).find(response_id, caller)
        if stream:
            events = _background(services).follow(response_id, starting_after)
            return TurnEventStream.of(events, services.settings, {"Cache-Control": "no-cache"})
        return {**row.response, "status": row.status}
    if stream:
        raise AgentError(
            "Only a background response (background=true) can be streamed again; GET it"
            " without stream=true.",
            param="stream",
            code="invalid_request",
        )
    try:
        await require_owned(services.store.owners, ref.session_id, caller)
        outcome = await stored_outcome(services.sessions, ref.session_id, ref.start)
    except AgentError as exc:
        raise unknown_response(response_id) from exc
    if outcome is None:
        raise unknown_response(response_id)
    return response_object(ref, services.settings.llm_model, outcome)


@router.post("/responses/{response_id}/cancel", responses=error_responses(404))
async def cancel_response(response_id: str, services: ServicesDep, caller: CallerDep) -> Any:
    """Cancel a background response that is queued or in progress; its turn is not stored."""
    if ResponseRef.parse(response_id).run is None:
        raise AgentError(
            "Only a background response (background=true) can be cancelled; a streamed one"
            " is cancelled by closing its stream.",
            param="response_id",
            code="invalid_request",
        )
    return await _background(services).cancel(response_id, caller)


async def _submit(body: ResponsesRequest, services: Services, caller: Caller) -> Any:
    """Queue a background response: its object (`queued`), or with `stream=true` its events
    (the stream can be left and resumed; the response goes on)."""
    queued = _background(services)
    response = await queued.submit(body, caller)
    headers = {SESSION_ID_HEADER: ResponseRef.parse(response["id"]).session_id}
    if body.stream:
        events = queued.follow(response["id"], -1)
        headers["Cache-Control"] = "no-cache"
        return TurnEventStream.of(events, services.settings, headers)
    return JSONResponse(response, headers=headers)


def _background(services: Services) -> BackgroundResponses:
    if services.background is None:
        raise AgentError("Background responses need a session store.", code="invalid_request")
    return services.background
