"""Session continuity for clients that resend the whole history without a session header
(Open WebUI, LibreChat, LobeChat): find the caller's session that history continues.

A session is continued only for the key and the client identity that started it (the
`user` field, or the X-OpenWebUI-User-Id header Open WebUI sends with
ENABLE_FORWARD_USER_INFO_HEADERS): several users behind one key never share a session."""

from __future__ import annotations

import hashlib
from typing import Any

from langchain_core.messages import BaseMessage

from agent.errors import AgentError
from agent.messages import client_view, fingerprint
from api.deps import Services
from api.keys import Caller
from api.protocol import ChatCompletionRequest
from api.sessions import SESSION_ID_HEADER, Sessions
from api.turn_plan import split_request
from graph.store.owners import Owners

USER_ID_HEADER = "X-OpenWebUI-User-Id"
SCANNED_SESSIONS = 50
"""How many of a client's sessions, the most recently started, a request may continue: the
search reads each, so its cost stays bounded however many sessions the client keeps."""


def client_identity(user: str | None, user_id_header: str | None) -> str:
    """A digest of the client identity a request sends ("" when it sends none)."""
    parts = [(user or "").strip(), (user_id_header or "").strip()]
    if not any(parts):
        return ""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def identity_required() -> AgentError:
    """A header-less request under SESSION_CONTINUITY that says nothing of who sends it."""
    return AgentError(
        "SESSION_CONTINUITY is on: a request without X-Session-ID must say which user sends it, "
        f"in the `user` field or the {USER_ID_HEADER} header (Open WebUI sends it with "
        f"ENABLE_FORWARD_USER_INFO_HEADERS=true), or name its session in {SESSION_ID_HEADER}.",
        param="user",
        code="client_identity_required",
    )


async def continuity(
    services: Services, caller: Caller, request: ChatCompletionRequest, user_id_header: str | None
) -> tuple[str | None, str]:
    """The session a header-less request continues (None: a new one) and the client identity
    a new session is bound to. The scan holds a turn slot, so it counts against the limit."""
    client = client_identity(request.user, user_id_header)
    if not client:
        raise identity_required()
    _, sent = split_request(request)
    async with services.limiter.slot(caller.owner):
        found = await continued_session(
            services.sessions, services.store.owners, caller, client, sent
        )
    return found, client


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
    sessions: Sessions, owners: Owners, caller: Caller, client: str, sent: list[BaseMessage]
) -> str | None:
    """The session of this caller and client (among its SCANNED_SESSIONS newest) whose
    history the request repeats at its start (the longest such history; the most recent
    one on a tie), or None."""
    sent_keys = [fingerprint(m) for m in sent]
    found: tuple[int, float, str] | None = None
    for row in await owners.owned_by(caller.owner, client, SCANNED_SESSIONS):
        state = await sessions.snapshot(row.session_id)
        if state is None:
            continue
        length = continues(list(state.values.get("messages", [])), sent_keys)
        candidate = (length, row.created, row.session_id)
        if length and (found is None or candidate > found):
            found = candidate
    return found[2] if found else None
