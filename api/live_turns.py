"""A streamed chat turn that goes on without its client (`X-On-Disconnect: finish`) keeps its
chunks in the sessions' database, beside the background responses' events, so that its
client can watch it again from any process after losing the stream (the chat page after a
reload): `GET /v1/sessions/{id}/live`, and stop it: `POST /v1/sessions/{id}/live/cancel`.

The turn stays leased to its process by that process's background worker
(api/responses/background_worker.py), which also stops it when a cancel is asked for; a
turn whose process died is ended by any other once the lease runs out.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from api.responses.background import BackgroundResponses
from api.responses.background_worker import BackgroundWorker, EventLog
from graph.store.background_runs import RunRow

DONE = "[DONE]"
ENDED_WITHOUT_DONE = {
    "cancelled": "The turn was cancelled; nothing of it was stored.",
    "failed": "The process running the turn stopped before it finished; nothing of it was stored.",
}


class LiveTurns:
    """Chat turns recorded for watching, on the background responses' tables."""

    def __init__(self, responses: BackgroundResponses, worker: BackgroundWorker) -> None:
        self.responses = responses
        self.store = responses.store
        self.worker = worker

    async def recorded(
        self, frames: AsyncIterator[bytes], session_id: str, owner: str
    ) -> AsyncIterator[bytes]:
        """`frames` as they are sent, each also stored for watchers; the turn is leased to
        this process and can be stopped by a cancel from any process."""
        settings = self.worker.services.settings
        run_id = f"live_{uuid.uuid4().hex}"
        await self.store.open_live(
            run_id, owner, session_id, self.worker.id, settings.background_lease
        )
        task = asyncio.current_task()
        assert task is not None
        self.worker.adopt(run_id, task)
        log = EventLog(
            self.store, run_id, 0, settings.background_max_events, self.responses.written
        )
        status = "failed"
        try:
            async for frame in frames:
                data = frame.decode().removeprefix("data: ").rstrip("\n")
                log.add(data, last=data == DONE)
                yield frame
            status = "completed"
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        finally:
            self.worker.release(run_id)
            await log.flush()
            await self.store.finish(run_id, self.worker.id, status, {"status": status})
            self.responses.written.fire()

    async def latest(self, session_id: str) -> RunRow | None:
        """The session's newest recorded turn that can still be watched."""
        row = await self.store.latest_live(session_id)
        if row is None or (row.done and not await self.store.events_after(row.id, -1, 1)):
            return None
        return row

    async def watch(self, row: RunRow, after: int) -> AsyncIterator[bytes]:
        """The turn's chunks after number `after` (each with its number as the SSE `id`),
        then the rest live; a turn that ended without its last chunk ends with an error
        chunk saying why, then `[DONE]`."""
        done = False
        async for seq, data in self.responses.events(row.id, after):
            done = data == DONE
            yield f"id: {seq}\ndata: {data}\n\n".encode()
        if not done:
            ended = await self.store.get(row.id)
            status = ended.status if ended else "failed"
            why = ENDED_WITHOUT_DONE.get(status, ENDED_WITHOUT_DONE["failed"])
            error: dict[str, Any] = {"message": why, "type": "server_error", "code": status}
            yield f"data: {json.dumps({'error': error})}\n\ndata: {DONE}\n\n".encode()

    async def cancel(self, row: RunRow) -> bool:
        """Ask the turn's process to stop it (at once here, within 2 s elsewhere)."""
        if row.done:
            return False
        await self.store.cancel(row.id, {"status": "cancelled"})
        self.worker.stop_run(row.id, "cancelled")
        return True
