"""Sessions as their owner sees them: ownership checks and the caller's session list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.errors import AgentError
from api.keys import Caller
from api.sessions import Sessions, title_of, unknown_session
from graph.store.owners import Owners


async def require_owned(owners: Owners, session_id: str, caller: Caller) -> None:
    """The same 404 as for a missing session when the caller does not own it."""
    if await owners.owner(session_id) != caller.owner:
        raise unknown_session(session_id)


def _timestamp(iso: str | None, fallback: float) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) if iso else int(fallback)


PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
"""Sessions per page of GET /v1/sessions: by default, and at most."""


async def owned_sessions(
    sessions: Sessions,
    owners: Owners,
    caller: Caller,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    newest_first: bool = False,
) -> dict[str, Any]:
    """One page of the caller's sessions (oldest first, or newest first), each with its
    size, activity and title; OpenAI list paging: `has_more`, `first_id`, `last_id`."""
    if after is not None and await owners.owner(after) != caller.owner:
        raise AgentError(
            f"after={after[:40]!r} names none of your sessions; pass the last_id of the "
            "previous page, or leave it out for the first page.",
            param="after",
            code="invalid_value",
        )
    rows = await owners.page(caller.owner, after, limit + 1, newest_first)
    data = []
    for row in rows[:limit]:
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
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(rows) > limit,
    }
