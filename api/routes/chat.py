"""POST /v1/chat/completions: one agent turn on a session, streamed or not."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from agent.errors import AgentError
from api.completion import completion_response
from api.deps import Services, ServicesDep
from api.keys import CallerDep
from api.logs import note
from api.ownership import require_owned
from api.protocol import ChatCompletionRequest, ChatCompletionResponse
from api.request_fields import upstream_fields
from api.sessions import SESSION_ID_HEADER, checked_session_id, new_session_id
from api.streaming import ChunkWriter, sse_events
from api.turn import TurnPlan, plan_turn, run_turn, stream_turn

router = APIRouter(prefix="/v1", tags=["chat"])
SessionHeader = Annotated[str | None, Header(alias=SESSION_ID_HEADER)]


@router.post("/chat/completions", response_model=ChatCompletionResponse)
async def create_chat_completion(
    request: ChatCompletionRequest,
    services: ServicesDep,
    caller: CallerDep,
    x_session_id: SessionHeader = None,
) -> Response:
    """Answer the request's new messages within the session named by X-Session-ID."""
    given = (x_session_id or "").strip() or None
    session_id = checked_session_id(given) if given else new_session_id()
    model = services.backends.resolve(request.model)
    fields = upstream_fields(request)
    services.backends.check_fields(model, fields)
    note(session_id=session_id, model=model)
    stack = AsyncExitStack()
    known = given is not None  # whether the session exists for the client to use
    try:
        if known:
            await require_owned(services.owners, session_id, caller)
        # Owner check, then the session, then a queue slot: a turn waiting for a busy session
        # holds no slot, and a slot is never held while waiting for a session in this process.
        admitted = services.limiter.slot()  # its 429 comes before anything is stored
        await stack.enter_async_context(services.locks.hold(session_id, admitted))
        plan = await plan_turn(services.sessions, request, session_id, not known, services.tools)
        if not known:
            await services.owners.claim(session_id, caller.owner)
        known = True
        plan.context.model, plan.context.upstream_fields = model, fields
        if request.stream:
            return await _stream(services, request, plan, stack)
        async with stack:
            turn = await run_turn(services.sessions, plan)
    except BaseException as exc:
        await stack.aclose()
        if known and isinstance(exc, AgentError):
            exc.headers[SESSION_ID_HEADER] = session_id
        raise
    body = completion_response(turn, plan.context.model or services.settings.llm_model)
    note(tokens=body.usage.total_tokens)
    return JSONResponse(body.model_dump(), headers={SESSION_ID_HEADER: session_id})


async def _stream(
    services: Services, request: ChatCompletionRequest, plan: TurnPlan, stack: AsyncExitStack
) -> Response:
    """Start the turn; failures before the first delta still get a proper HTTP status."""
    events = stream_turn(services.sessions, plan)
    stack.push_async_callback(events.aclose)  # roll back an unfinished turn, then unlock
    buffered = await _until_first_delta(events)
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    writer = ChunkWriter(plan.context.model or services.settings.llm_model, include_usage)
    body = sse_events(_replay(buffered, events), writer, plan.start_index, stack)
    headers = {SESSION_ID_HEADER: plan.session_id, "Cache-Control": "no-cache"}
    return EventSourceResponse(body, headers=headers, sep="\n", ping=15)


async def _until_first_delta(events: Any) -> list[tuple[str, Any]]:
    buffered = []
    async for mode, data in events:
        buffered.append((mode, data))
        if mode == "custom":
            break
    return buffered


async def _replay(buffered: list[tuple[str, Any]], events: Any) -> Any:
    for item in buffered:
        yield item
    async for item in events:
        yield item
