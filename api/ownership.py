"""Sessions as their owner sees them: ownership checks and the caller's session list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.keys import Caller
from api.sessions import Sessions, title_of, unknown_session
from graph.owners import Owners


async def require_owned(owners: Owners, session_id: str, caller: Caller) -> None:
    """The same 404 as for a missing session when the caller does not own it."""
    if await owners.owner(session_id) != caller.owner:
        raise unknown_session(session_id)


def _timestamp(iso: str | None, fallback: float) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) if iso else int(fallback)


async def owned_sessions(sessions: Sessions, owners: Owners, caller: Caller) -> dict[str, Any]:
    """The caller's sessions, oldest first, each with its size, activity and title."""
    data = []
    for row in await owners.owned_by(caller.owner):
        state = await sessions.snapshot(row.session_id)
        if state is None:  # deleted by a process that crashed before forgetting the row
            continue
        messages = list(state.values.get("messages", []))
        data.append(
            {
                "id": row.session_id,
                "object": "session",
                "created": int(row.created),
                "last_active": _timestamp(state.created_at, row.created),
                "message_count": len(messages),
                "title": state.values.get("title") or title_of(messages),
            }
        )
    return {"object": "list", "data": data}
