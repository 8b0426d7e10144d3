"""A stored response, rebuilt from its session's turn log (GET /v1/responses/{id})."""

from __future__ import annotations

from api.sessions import Sessions
from graph.store.turn_saver import TURN_LOG
from graph.turn import TurnOutcome, recorded_outcome


async def stored_outcome(sessions: Sessions, session_id: str, start: int) -> TurnOutcome | None:
    """The outcome of the turn whose output starts at message `start`, from the record the
    session's latest checkpoint keeps of each turn; None when there is none."""
    snapshot = await sessions.snapshot(session_id)
    if snapshot is None:
        return None
    records = (snapshot.metadata or {}).get(TURN_LOG, [])
    record = next((r for r in reversed(records) if r["start"] == start), None)
    return recorded_outcome(snapshot.values, record) if record else None
