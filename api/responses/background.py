"""Background responses, as clients see them: submit (`background: true`), look up, cancel,
and stream or resume a run's events from any process (`starting_after`). The runs
themselves are claimed and run by api/responses/background_worker.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError
from api.keys import Caller
from api.queue import rate_limited
from api.responses.output import ResponseRef, response_object, unknown_response
from api.responses.request import ResponsesRequest
from api.sessions import new_session_id, require_owned
from api.turn_plan import upstream_fields
from api.turns import check_session_room
from graph.store.background_runs import RunRow, RunStore
from mcp_tools.request_servers import check_allowed

if TYPE_CHECKING:
    from api.deps import Services

FOLLOW_POLL = 0.25
"""Seconds between reads of a run's events written by another process (this process's own
writes wake its followers at once)."""
CANCEL_WAIT = 10.0
"""Seconds a cancel waits for the run's process to stop it before answering."""


class Pulse:
    """Wakes everything waiting on it; a waiter also wakes after its timeout."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


class BackgroundResponses:
    """The queue's client side, on the store of the sessions' database."""

    def __init__(self, services: Services, store: RunStore) -> None:
        self.services = services
        self.store = store
        self.written = Pulse()
        """Fired when this process stored events or ended a run."""
        self.submitted = Pulse()
        """Fired when this process queued a run (its worker claims it at once)."""
        self.local: Any = None
        """This process's worker (api/responses/background_worker.py), once started."""

    async def submit(self, body: ResponsesRequest, caller: Caller) -> dict[str, Any]:
        """Queue the turn and return its response object (status `queued`); a request that
        could never run gets its 400 now, not a failed response later."""
        services = self.services
        if not body.store:
            raise AgentError(
                "background=true needs store=true: a background response is kept so that it"
                " can be fetched, resumed and cancelled.",
                param="store",
                code="invalid_request",
            )
        chat = body.to_chat(services.tools.names())
        allow = services.settings.mcp_request_servers_allow
        for index, server in enumerate(body.mcp_servers()):
            await check_allowed(server, allow, f"tools[{index}]")
        model = services.backends.resolve(chat.model)
        services.backends.check_fields(model, upstream_fields(chat))
        session_id = await self._session_for(body, caller)
        await self._check_queue_room(caller)
        ref = ResponseRef(session_id, 0, int(time.time()), uuid.uuid4().hex)
        response = response_object(
            ref, model or services.settings.llm_model, None, **body.echoed(), status="queued"
        )
        row = RunRow(
            ref.id,
            caller.owner,
            session_id,
            "queued",
            body.model_dump(mode="json", exclude_none=True),
            {"owner": caller.owner, "name": caller.name, "is_admin": caller.is_admin},
            response,
            None,
            None,
        )
        created = {"type": "response.created", "sequence_number": 0, "response": response}
        await self.store.submit(row, created)
        self.submitted.fire()
        return response

    async def find(self, response_id: str, caller: Caller) -> RunRow:
        """The caller's run of `response_id`, or the 404 (another key's runs included)."""
        row = await self.store.get(response_id)
        if row is None or row.owner != caller.owner:
            raise unknown_response(response_id)
        return row

    async def require_ended(self, previous_response_id: str, caller: Caller) -> None:
        """The 409 for continuing from a background response that has not ended (its turn
        is not in the session yet); nothing for any other response."""
        if ResponseRef.parse(previous_response_id).run is None:
            return
        row = await self.find(previous_response_id, caller)
        if not row.done:
            raise AgentError(
                f"Response {row.id!r} is still {row.status}: wait for it to end (GET"
                " /v1/responses/{id}) or cancel it before continuing its conversation.",
                param="previous_response_id",
                code="response_not_finished",
            )

    async def cancel(self, response_id: str, caller: Caller) -> dict[str, Any]:
        """Cancel a queued or running response; the response object once its process
        stopped it (a finished one is answered with a 400 saying how it ended)."""
        row = await self.find(response_id, caller)
        if row.done and row.status != "cancelled":
            raise AgentError(
                f"Response {response_id!r} is already {row.status}; only a queued or"
                " in-progress response can be cancelled.",
                param="response_id",
                code="invalid_request",
            )
        cancelled = {**row.response, "status": "cancelled"}
        row = await self.store.cancel(response_id, cancelled) or row
        if self.local is not None:  # a run of this process stops now, others within 2 s
            self.local.stop_run(response_id, "cancelled")
        deadline = time.monotonic() + CANCEL_WAIT
        while not row.done and time.monotonic() < deadline:
            await self.written.wait(FOLLOW_POLL)
            row = await self.store.get(response_id) or row
        return row.response

    async def follow(self, response_id: str, after: int) -> AsyncIterator[bytes]:
        """The response's events after sequence number `after` as SSE: those stored, then
        the rest as they are written, until it has ended."""
        async for _seq, data in self.events(response_id, after):
            yield _frame(data)

    async def events(self, run_id: str, after: int) -> AsyncIterator[tuple[int, str]]:
        """A run's stored events after number `after`, then the rest as they are written,
        until the run has ended (a process that ended another's lost run stores its last
        event just after the status, so an end without new events reads once more)."""
        while True:
            events = await self.store.events_after(run_id, after)
            for seq, data in events:
                after = seq
                yield seq, data
            if events:
                continue
            row = await self.store.get(run_id)
            if row is None or row.done:
                for attempt in range(2):
                    events = await self.store.events_after(run_id, after, 100_000)
                    for seq, data in events:
                        after = seq
                        yield seq, data
                    if events or attempt:
                        return
                    await asyncio.sleep(FOLLOW_POLL)
            await self.written.wait(FOLLOW_POLL)

    async def _session_for(self, body: ResponsesRequest, caller: Caller) -> str:
        """The session the turn goes on: that of previous_response_id (owned by the caller,
        its run ended), or a new one (within the caller's MAX_SESSIONS_PER_KEY)."""
        if not body.previous_response_id:
            await check_session_room(self.services, caller)
            return new_session_id()
        previous = ResponseRef.parse(body.previous_response_id)
        await self.require_ended(body.previous_response_id, caller)
        try:
            await require_owned(self.services.store.owners, previous.session_id, caller)
        except AgentError as exc:  # a run that ended before its session was made, too
            raise unknown_response(body.previous_response_id) from exc
        return previous.session_id

    async def _check_queue_room(self, caller: Caller) -> None:
        settings = self.services.settings
        queued, own = await self.store.counts(caller.owner)
        if queued >= settings.background_max_queued:
            raise rate_limited(
                f"{queued} background responses are queued, the most BACKGROUND_MAX_QUEUED"
                f" ({settings.background_max_queued}) allows",
                5,
            )
        share = self.services.limiter.share
        if share is not None:
            most = max(1, int(settings.background_max_queued * share.fraction))
            if own >= most:
                raise rate_limited(
                    f"This key has {own} background responses queued, its share"
                    f" (KEY_TURN_SHARE={share.fraction:g} of BACKGROUND_MAX_QUEUED: {most})",
                    5,
                )


def _frame(data: str) -> bytes:
    """One stored event as SSE, named by its type as a live stream names it."""
    kind = json.loads(data)["type"]
    return b"event: " + kind.encode() + b"\ndata: " + data.encode() + b"\n\n"
