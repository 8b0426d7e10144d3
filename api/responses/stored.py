"""A stored response, rebuilt from its session's checkpoints (GET /v1/responses/{id})."""

from __future__ import annotations

from typing import Any

from api.sessions import Sessions, thread_config
from graph.approval import pending_approvals
from graph.turn import TurnOutcome, turn_outcome


async def stored_outcome(sessions: Sessions, session_id: str, start: int) -> TurnOutcome | None:
    """The outcome of the turn whose output starts at message `start`: the session's state
    when that run of the graph ended (the first checkpoint after `start` with nothing left
    to run, or waiting for approval); None when there is none."""
    config = thread_config(session_id)
    ended: Any = None
    async for snapshot in sessions.graph.aget_state_history(config):
        finished = not snapshot.next or snapshot.interrupts
        count = len(snapshot.values.get("messages", []))
        if finished and count > start:
            ended = snapshot  # newest first: the last one kept is the earliest
        elif count <= start:
            break
    if ended is None:
        return None
    return turn_outcome(ended.values, start, pending_approvals(ended))
