"""Each process's worker for background responses: it claims queued runs from the shared
table (graph/store/background_runs.py) while it has room, runs each as a streamed Responses turn
whose events it stores, renews the leases of its runs, and ends the runs of any process
whose lease ran out.

A run's events reach the database in batches, at most FLUSH_DELAY after they were made:
one write per batch instead of one per token. A run is never started twice: one whose
process stopped renewing is ended `completed` when its turn was stored, otherwise `failed`
with the reason (its turn was rolled back or never stored: graph/store/turn_saver.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from sse_starlette.sse import AppStatus

from agent.errors import AgentError
from api import turns
from api.keys import Caller
from api.responses.background import BackgroundResponses
from api.responses.events import EventWriter, Finish, failed_fields, response_events
from api.responses.output import ResponseRef, response_object
from api.responses.request import ResponsesRequest
from api.responses.stored import stored_outcome
from graph.store.background_runs import CHAT, RunRow, RunStore

if TYPE_CHECKING:
    from api.deps import Services

logger = logging.getLogger(__name__)

CLAIM_POLL = 0.5
"""Seconds between looks for runs queued by other processes (this process's own are
claimed as they are queued)."""
FLUSH_DELAY = 0.05
"""Seconds a run's event waits for others to share its write."""
FORGET_EVERY = 60.0
"""Seconds between deletions of the events of runs ended BACKGROUND_EVENTS_KEEP ago."""
ENDED_EVENT = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


class EventLog:
    """A run's events on their way to the database, numbered from `next_seq`: written
    FLUSH_DELAY after the first of a batch; past `max_events` only the last is kept."""

    def __init__(
        self, store: RunStore, run_id: str, next_seq: int, max_events: int, written: Any
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.next_seq = next_seq
        self.max_events = max_events
        self.written = written
        self._batch: list[tuple[int, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: asyncio.Future[None] | None = None  # the running write, kept referenced
        self._lock = asyncio.Lock()

    def add(self, data: str, last: bool = False) -> None:
        seq = self.next_seq
        self.next_seq += 1
        if seq >= self.max_events and not last:
            return
        self._batch.append((seq, data))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self._flush_soon)

    async def flush(self) -> None:
        """Write what is waiting (the caller waits for the write)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:
            batch, self._batch = self._batch, []
            if not batch:
                return
            try:
                await self.store.append(self.run_id, batch)
            except Exception as exc:  # the run goes on; a resume misses these events
                logger.warning("events of %s not stored: %s", self.run_id, exc)
            self.written.fire()

    def _flush_soon(self) -> None:
        self._timer = None
        self._writing = asyncio.ensure_future(self.flush())


class BackgroundWorker:
    """Claims and runs this process's share of the queue."""

    def __init__(self, services: Services, responses: BackgroundResponses) -> None:
        self.services = services
        self.responses = responses
        self.store = responses.store
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.running: dict[str, asyncio.Task[None]] = {}
        self._why_stopped: dict[str, str] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._exit_seen: float | None = None

    def start(self) -> None:
        self.responses.local = self
        self._loops = [
            asyncio.create_task(self._claim_loop()),
            asyncio.create_task(self._lease_loop()),
        ]

    async def stop(self) -> None:
        """Stop claiming; give running runs what is left of SHUTDOWN_GRACE (counted from
        the stop signal), then stop them (`failed`, with the reason)."""
        if not self._loops:
            return
        self._loops[0].cancel()
        grace = self.services.settings.shutdown_grace
        left = grace - (time.monotonic() - (self._exit_seen or time.monotonic()))
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=max(0.0, left))
        for run_id in list(self.running):
            self.stop_run(run_id, "shutdown")
        if self.running:
            await asyncio.wait(list(self.running.values()))
        for loop in self._loops:
            loop.cancel()

    def adopt(self, run_id: str, task: asyncio.Task[Any]) -> None:
        """Keep the lease of a run this process runs outside the queue (a recorded chat
        turn, api/live_turns.py) and stop `task` when it is cancelled."""
        self.running[run_id] = task

    def release(self, run_id: str) -> None:
        """Forget a run this process no longer runs (ended, or given up)."""
        self.running.pop(run_id, None)
        self._why_stopped.pop(run_id, None)

    def stop_run(self, run_id: str, why: str) -> None:
        """Stop a run of this process (`cancelled`, `shutdown` or `lost`); nothing when it
        runs elsewhere."""
        task = self.running.get(run_id)
        if task is not None and run_id not in self._why_stopped:
            self._why_stopped[run_id] = why
            task.cancel()

    async def _claim_loop(self) -> None:
        settings = self.services.settings
        limiter = self.services.limiter
        while True:
            if _stopping():  # uvicorn was told to stop: queued runs are for others
                self._exit_seen = time.monotonic()
                return
            try:
                while limiter.running < limiter.max_running and await self.store.any_queued():
                    row = await self.store.claim(
                        self.id, settings.background_lease, settings.background_max_running
                    )
                    if row is None:
                        break
                    self.running[row.id] = asyncio.create_task(self._run(row))
            except Exception as exc:
                logger.warning("could not claim background responses: %s", exc)
            await self.responses.submitted.wait(CLAIM_POLL)

    async def _lease_loop(self) -> None:
        settings = self.services.settings
        every = min(settings.background_lease / 3, 2.0)
        forgot = 0.0
        while True:
            await asyncio.sleep(every)
            try:
                await self._renew()
                for row in await self.store.expired():
                    await self._end_lost(row)
                if time.monotonic() - forgot > FORGET_EVERY:
                    forgot = time.monotonic()
                    await self.store.forget_events(settings.background_events_keep)
            except Exception as exc:
                logger.warning("background response leases not renewed: %s", exc)

    async def _renew(self) -> None:
        ids = list(self.running)
        owned, cancel = await self.store.renew(
            self.id, ids, self.services.settings.background_lease
        )
        for run_id in ids:
            if run_id not in owned:
                self.stop_run(run_id, "lost")
            elif run_id in cancel:
                self.stop_run(run_id, "cancelled")

    async def _run(self, row: RunRow) -> None:
        try:
            await self._execute(row)
        except Exception:
            logger.exception("background response %s failed", row.id)
        finally:
            self.release(row.id)
            self.responses.written.fire()

    async def _execute(self, row: RunRow) -> None:
        services = self.services
        body, ref, finish = _response_of(row)
        log = EventLog(
            self.store,
            row.id,
            await self.store.last_seq(row.id) + 1,
            services.settings.background_max_events,
            self.responses.written,
        )
        writer = EventWriter(ref, log.next_seq)
        final: dict[str, Any] | None = None
        try:
            chat = body.model_copy(update={"stream": True}).to_chat(services.tools.names())
            given = row.session_id if body.previous_response_id else None
            caller = Caller(**row.caller)
            servers = body.mcp_servers()
            opened = turns.begin(
                services, chat, caller, given, new_id=row.session_id, servers=servers
            )
            async with opened as turn:
                ref.start = turn.start_index
                await self.store.started(row.id, turn.start_index, finish(None, _IN_PROGRESS))
                async for event in response_events(turn.events(), writer, finish, True):
                    data = event["data"]
                    log.add(data, last=event["event"] in _LAST)
                    if event["event"] in _LAST:
                        final = json.loads(data)["response"]
        except Exception as exc:  # before the turn began: a session busy, a 429, ...
            if not isinstance(exc, AgentError):
                logger.exception("background response %s could not begin", row.id)
            final = finish(None, failed_fields(exc))
            log.add(writer.event("response.failed", response=final)["data"], last=True)
        except asyncio.CancelledError:
            final = self._stopped(row, finish)
            if final is not None and final["status"] == "failed":
                log.add(writer.event("response.failed", response=final)["data"], last=True)
        await log.flush()
        if final is not None:
            await self.store.finish(row.id, self.id, final["status"], final)

    def _stopped(self, row: RunRow, finish: Any) -> dict[str, Any] | None:
        """The response of a run this process stopped; None when it is no longer its own."""
        why = self._why_stopped.get(row.id, "shutdown")
        if why == "lost":
            return None
        if why == "cancelled":
            return finish(None, {"status": "cancelled"})
        message = (
            "The service stopped before this response finished (SHUTDOWN_GRACE ran out);"
            " nothing of it was stored. Send it again."
        )
        return finish(None, {"status": "failed", "error": {"code": "shutdown", "message": message}})

    async def _end_lost(self, row: RunRow) -> None:
        """End a run whose process stopped renewing its lease: `completed` (or
        `incomplete`) when its turn made it into the session, else `failed`."""
        if row.kind == CHAT:  # its watchers are told (api/live_turns.py)
            if await self.store.finish(row.id, None, "failed", {"status": "failed"}):
                self.responses.written.fire()
            return
        _body, ref, finish = _response_of(row)
        outcome = None
        if row.start_index is not None:
            ref.start = row.start_index
            outcome = await stored_outcome(self.services.sessions, row.session_id, ref.start)
        fields: dict[str, Any] = {}
        if outcome is None:
            message = (
                "The process running this response stopped before it finished (its lease,"
                " BACKGROUND_LEASE, ran out); nothing of it was stored. Send it again."
            )
            fields = {"status": "failed", "error": {"code": "run_lost", "message": message}}
        final = finish(outcome, fields)
        if not await self.store.finish(row.id, None, final["status"], final):
            return  # renewed meanwhile, or ended by another process
        logger.warning("background response %s ended %s: lease ran out", row.id, final["status"])
        seq = await self.store.last_seq(row.id) + 1
        event = {"type": ENDED_EVENT[final["status"]], "sequence_number": seq, "response": final}
        await self.store.append(row.id, [(seq, json.dumps(event, ensure_ascii=False))])
        self.responses.written.fire()


def _response_of(row: RunRow) -> tuple[ResponsesRequest, ResponseRef, Finish]:
    """A run's request, its response's reference (id and creation time as queued), and the
    maker of its response objects (api/responses/events.py's Finish)."""
    body = ResponsesRequest.model_validate(row.request)
    ref = ResponseRef.parse(row.id)
    ref.created_at = row.response["created_at"]

    def finish(outcome: Any, fields: dict[str, Any]) -> dict[str, Any]:
        return response_object(ref, row.response["model"], outcome, **body.echoed(), **fields)

    return body, ref, finish


_IN_PROGRESS = {"status": "in_progress"}
_LAST = frozenset(ENDED_EVENT.values())


def _stopping() -> bool:
    """Whether uvicorn was told to stop (sse-starlette's flag, or the server's own when its
    patch of uvicorn did not take)."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return AppStatus.should_exit or bool(getattr(server, "should_exit", False))
