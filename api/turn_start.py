"""Starting a turn on a session, for every API that runs one: ownership, the session lock,
a queue slot, the plan. The caller holds `stack` until the turn is over."""

from __future__ import annotations

from contextlib import AsyncExitStack

from agent.errors import AgentError
from agent.tracing import annotate
from api.deps import Services
from api.keys import Caller
from api.logs import note
from api.ownership import require_owned
from api.protocol import ChatCompletionRequest
from api.request_fields import upstream_fields
from api.sessions import SESSION_ID_HEADER, checked_session_id, new_session_id
from api.turn import TurnPlan, plan_turn
from mcp_tools.request_servers import RequestServer, check_allowed, open_request_servers


async def begin_turn(
    services: Services,
    request: ChatCompletionRequest,
    caller: Caller,
    given: str | None,
    stack: AsyncExitStack,
    client: str = "",
    new_id: str | None = None,
    servers: list[RequestServer] | None = None,
) -> TurnPlan:
    """Plan a turn on session `given` (None: a new one, bound to `client` for continuity,
    with id `new_id` when the client was already told it) with its slot and lock entered
    on `stack`; on failure the stack is closed and the error names the session once known.
    The MCP `servers` the request named are connected for the turn (closed with `stack`)."""
    session_id = checked_session_id(given) if given else new_id or new_session_id()
    model = services.backends.resolve(request.model)
    fields = upstream_fields(request)
    services.backends.check_fields(model, fields)
    note(session_id=session_id, model=model or services.settings.llm_model)
    annotate(gen_ai__conversation__id=session_id)
    known = given is not None  # whether the session exists for the client to use
    for index, server in enumerate(servers or []):
        await check_allowed(server, services.settings.mcp_request_servers_allow, f"tools[{index}]")
    try:
        if known:
            await require_owned(services.owners, session_id, caller)
        else:
            await check_session_room(services, caller)
        # Owner check, then the session, then a queue slot: a turn waiting for a busy session
        # holds no slot, and a slot is never held while waiting for a session in this process.
        admitted = services.limiter.slot(caller.owner)  # its 429 comes before anything is stored
        await stack.enter_async_context(services.locks.hold(session_id, admitted))
        plan = await plan_turn(services.sessions, request, session_id, not known, services.tools)
        if servers:
            await _connect(services, plan, servers, stack)
        if not known:
            await services.owners.claim(session_id, caller.owner, client)
    except BaseException as exc:
        await stack.aclose()
        if known and isinstance(exc, AgentError):
            exc.headers[SESSION_ID_HEADER] = session_id
        raise
    plan.context.model, plan.context.upstream_fields = model, fields
    return plan


async def check_session_room(services: Services, caller: Caller) -> None:
    """The 403 for a new session beyond MAX_SESSIONS_PER_KEY."""
    cap = services.settings.max_sessions_per_key
    count = await services.owners.count(caller.owner)
    if count >= cap:
        raise AgentError(
            f"This key already has {count} sessions, the most MAX_SESSIONS_PER_KEY ({cap}) "
            "allows: delete some (DELETE /v1/sessions/{id}) or continue one with "
            f"{SESSION_ID_HEADER}.",
            code="session_limit_exceeded",
        )


async def _connect(
    services: Services, plan: TurnPlan, servers: list[RequestServer], stack: AsyncExitStack
) -> None:
    """The request's MCP servers' tools, for this turn only, beside the server's own."""
    taken = set(services.tools.names()) | plan.context.client_tool_names
    opened = open_request_servers(servers, services.settings, taken)
    tools, approval = await stack.enter_async_context(opened)
    plan.context.request_tools, plan.context.approval_required = tools, approval
