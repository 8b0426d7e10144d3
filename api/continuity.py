"""Session continuity for clients that resend the whole history without a session header
(Open WebUI, LibreChat, LobeChat): find the caller's session that history continues."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from agent.messages import client_view, fingerprint
from api.keys import Caller
from api.sessions import Sessions
from graph.owners import Owners


def continues(stored: list[BaseMessage], sent_keys: list[Any]) -> int:
    """How many of the sent messages are the session's history (as the client saw it, or as
    stored), when the request repeats all of it and adds more; else 0."""
    best = 0
    for view in (client_view(stored), stored):
        keys = [fingerprint(m) for m in view]
        if keys and len(sent_keys) > len(keys) and sent_keys[: len(keys)] == keys:
            best = max(best, len(keys))
    return best


async def continued_session(
    sessions: Sessions, owners: Owners, caller: Caller, sent: list[BaseMessage]
) -> str | None:
    """The caller's session whose history the request repeats at its start (the longest such
    history; the most recent one on a tie), or None."""
    sent_keys = [fingerprint(m) for m in sent]
    found: tuple[int, float, str] | None = None
    for row in await owners.owned_by(caller.owner):
        state = await sessions.snapshot(row.session_id)
        if state is None:
            continue
        length = continues(list(state.values.get("messages", [])), sent_keys)
        candidate = (length, row.created, row.session_id)
        if length and (found is None or candidate > found):
            found = candidate
    return found[2] if found else None
