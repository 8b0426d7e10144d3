"""One turn on a session, for every API that runs one.

    async with turns.begin(services, request, caller, session_id) as turn:
        async for event in turn.events():
            ...  # Delta, Activity, and last Done(outcome)

`begin` checks ownership, takes the session's lock and a queue slot, plans the turn and
connects the MCP servers the request named; leaving the block gives them back. The turn is
stored whole when its events reach `Done`, and not at all when it is left before (a client
that went away, an error, a cancel): nothing to roll back, and the model call is stopped.
The APIs only render these events (api/chat_render.py, api/responses/events.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agent.errors import AgentError
from agent.inflight import cancel_calls, track_calls
from agent.metrics import TURN_SECONDS, TURNS
from agent.tracing import annotate
from api.deps import Services
from api.keys import Caller
from api.logs import note
from api.protocol import ChatCompletionRequest
from api.sessions import SESSION_ID_HEADER, checked_session_id, new_session_id, require_owned
from api.turn_plan import TurnPlan, plan_turn, upstream_fields
from graph.approval import approvals_in_output
from graph.live_events import ACTIVITY_KINDS, LIVE, with_live_events
from graph.turn import TurnOutcome, turn_outcome, turn_record
from mcp_tools.request_servers import RequestServer, check_allowed, open_request_servers


@dataclass(frozen=True, slots=True)
class Delta:
    """Text the model wrote: `kind` is "content" or "reasoning"."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Activity:
    """A server tool started or finished (graph/live_events.py)."""

    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Done:
    """The turn ended and is stored; what the client gets of it."""

    outcome: TurnOutcome


TurnEvent = Delta | Activity | Done


@asynccontextmanager
async def begin(
    services: Services,
    request: ChatCompletionRequest,
    caller: Caller,
    given: str | None,
    *,
    client: str = "",
    new_id: str | None = None,
    servers: list[RequestServer] | None = None,
) -> AsyncIterator[Turn]:
    """A turn on session `given` (None: a new one, bound to `client` for continuity, with
    id `new_id` when the client was already told it), held until the block is left. An
    error that is the client's names the session once it exists for the client."""
    session_id = checked_session_id(given) if given else new_id or new_session_id()
    known = given is not None
    async with AsyncExitStack() as held:
        try:
            plan = await _plan(services, request, caller, session_id, known, client, servers, held)
        except AgentError as exc:
            if known:
                exc.headers[SESSION_ID_HEADER] = session_id
            raise
        turn = Turn(services, plan, held)
        try:
            yield turn
        except AgentError as exc:
            exc.headers[SESSION_ID_HEADER] = session_id
            raise
        finally:
            await turn.stop()  # before the session is unlocked


async def _plan(
    services: Services,
    request: ChatCompletionRequest,
    caller: Caller,
    session_id: str,
    known: bool,
    client: str,
    servers: list[RequestServer] | None,
    held: AsyncExitStack,
) -> TurnPlan:
    """Owner check, then the session, then a queue slot: a turn waiting for a busy session
    holds no slot, and a slot is never held while waiting for a session in this process.
    The MCP `servers` the request named are connected for the turn."""
    model = services.backends.resolve(request.model)
    fields = upstream_fields(request)
    services.backends.check_fields(model, fields)
    note(session_id=session_id, model=model or services.settings.llm_model)
    annotate(gen_ai__conversation__id=session_id)
    for index, server in enumerate(servers or []):
        await check_allowed(server, services.settings.mcp_request_servers_allow, f"tools[{index}]")
    if known:
        await require_owned(services.store.owners, session_id, caller)
    else:
        await check_session_room(services, caller)
    admitted = services.limiter.slot(caller.owner)  # its 429 comes before anything is stored
    await held.enter_async_context(services.store.locks.hold(session_id, admitted))
    plan = await plan_turn(services.sessions, request, session_id, not known, services.tools)
    if servers:
        await _connect(services, plan, servers, held)
    if not known:
        await services.store.owners.claim(session_id, caller.owner, client)
    plan.context.model, plan.context.upstream_fields = model, fields
    return plan


async def check_session_room(services: Services, caller: Caller) -> None:
    """The 403 for a new session beyond MAX_SESSIONS_PER_KEY."""
    cap = services.settings.max_sessions_per_key
    count = await services.store.owners.count(caller.owner)
    if count >= cap:
        raise AgentError(
            f"This key already has {count} sessions, the most MAX_SESSIONS_PER_KEY ({cap}) "
            "allows: delete some (DELETE /v1/sessions/{id}) or continue one with "
            f"{SESSION_ID_HEADER}.",
            code="session_limit_exceeded",
        )


async def _connect(
    services: Services, plan: TurnPlan, servers: list[RequestServer], held: AsyncExitStack
) -> None:
    """The request's MCP servers' tools, for this turn only, beside the server's own."""
    taken = set(services.tools.names()) | plan.context.client_tool_names
    opened = open_request_servers(servers, services.settings, taken)
    tools, approval = await held.enter_async_context(opened)
    plan.context.request_tools, plan.context.approval_required = tools, approval


class Turn:
    """A begun turn: run it once with `events` (streamed) or `run` (to its end)."""

    def __init__(self, services: Services, plan: TurnPlan, held: AsyncExitStack) -> None:
        self.session_id = plan.session_id
        self.start_index = plan.start_index
        self.model = plan.context.model or services.settings.llm_model
        self._services = services
        self._plan = plan
        self._held = held
        self._running: AsyncIterator[TurnEvent] | None = None

    def on_end(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run `callback` when the turn is over, while the session is still held."""
        self._held.push_async_callback(callback)

    def events(self, live: bool = True) -> AsyncIterator[TurnEvent]:
        """The turn's events as it runs; `live=False` leaves out the deltas and tool
        activity (nothing streams: the graph runs without a live-event sink)."""
        if self._running is not None:
            raise RuntimeError("a turn runs once")
        self._running = _run(self._services, self._plan, live)
        return self._running

    async def run(self, activity: list[dict[str, Any]] | None = None) -> TurnOutcome:
        """Run the turn to its end; server tool events go to `activity` when given."""
        async for event in self.events(live=activity is not None):
            if isinstance(event, Activity) and activity is not None:
                activity.append(event.event)
            elif isinstance(event, Done):
                return event.outcome
        raise RuntimeError("the turn ended without its outcome")

    async def stop(self) -> None:
        """Leave the turn where it is: a turn not yet stored is not stored."""
        if self._running is not None:
            await self._running.aclose()  # type: ignore[attr-defined]


async def streamed(
    opened: contextlib.AbstractAsyncContextManager[Turn], until_first_event: bool = True
) -> StreamedTurn:
    """Begin the turn, for a streamed response: a failure until then is still answered
    with an HTTP status (so is one before its first event, `until_first_event`). The turn
    ends when its events end or are closed."""
    events = _held_events(opened)
    turn = await anext(events)
    first = [await anext(events)] if until_first_event else []
    return StreamedTurn(turn, _chained(first, events))  # type: ignore[arg-type]


@dataclass
class StreamedTurn:
    """A begun turn and its events, the first already read when asked for."""

    turn: Turn
    events: AsyncIterator[TurnEvent]
    """Close it (or read it to its end) to end the turn."""


async def _held_events(
    opened: contextlib.AbstractAsyncContextManager[Turn],
) -> AsyncIterator[Turn | TurnEvent]:
    async with opened as turn:
        yield turn
        async for event in turn.events():
            yield event


async def _chained(
    first: list[TurnEvent], rest: AsyncIterator[TurnEvent]
) -> AsyncIterator[TurnEvent]:
    try:
        for event in first:
            yield event
        async for event in rest:
            yield event
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


async def _run(services: Services, plan: TurnPlan, live: bool) -> AsyncIterator[TurnEvent]:
    """Run the graph on the turn's session; store the turn once it got to its end
    (graph/store/turn_saver.py), then tell its outcome."""
    sessions = services.sessions
    saver = sessions.graph.checkpointer
    started = time.monotonic()
    calls = track_calls()
    try:
        async with saver.turn(plan.session_id) as config:
            final: dict[str, Any] = {}
            asked: dict[str, dict[str, Any]] = {}  # by call id: an interrupt may repeat
            items = _graph_items(sessions.graph, plan, config, live)
            async with contextlib.aclosing(items):  # its exit save lands while the turn is open
                async for mode, data in items:
                    if mode == LIVE:
                        yield _live_event(data)
                    else:
                        final = data
                        asked |= {a["call_id"]: a for a in approvals_in_output(data)}
            approvals = list(asked.values())
            await _uncancelled(
                saver.commit(config, turn_record(plan.start_index, final, approvals))
            )
        outcome = turn_outcome(final, plan.start_index, approvals)
    except BaseException as exc:
        # LangGraph stops a given-up run's nodes only once its own cleanup gets there:
        # the model call is stopped here, so the server does not generate for nobody
        cancel_calls(calls)
        known = await services.store.health.translate(exc)
        TURNS.labels(_outcome_label(known or exc)).inc()
        if known is not None:
            raise known from exc
        raise
    TURNS.labels("ok").inc()
    TURN_SECONDS.observe(time.monotonic() - started)
    yield Done(outcome)


def _graph_items(
    graph: Any, plan: TurnPlan, config: dict[str, Any], live: bool
) -> AsyncIterator[tuple[str, Any]]:
    """The graph's states, with its live events beside them (graph/live_events.py); the turn
    is saved once, when the run exits (graph/store/turn_saver.py)."""
    items = graph.astream(
        plan.graph_input, config, context=plan.context, stream_mode=["values"], durability="exit"
    )
    return with_live_events(items) if live else items


def _live_event(data: dict[str, Any]) -> TurnEvent:
    kind = data.get("kind")
    if kind in ACTIVITY_KINDS:
        return Activity(data)
    return Delta(kind, data["text"])


def _outcome_label(exc: BaseException) -> str:
    if isinstance(exc, AgentError):
        return exc.code or "agent_error"
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "cancelled"
    return "internal_error"


async def _uncancelled(step: Any) -> None:
    """Finish `step` even if this task is cancelled meanwhile (then re-raise): the caller
    releases the session lock next, and the next turn must find the commit done."""
    running = asyncio.ensure_future(step)
    cancelled = False
    while not running.done():
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            cancelled = True
    running.result()
    if cancelled:
        raise asyncio.CancelledError
