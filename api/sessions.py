"""Sessions: a session id is a LangGraph thread; its checkpoint holds the conversation.

A session belongs to the key that started it (`graph/store/owners.py`): another key gets the
same 404 as for a missing session, and lists only its own. Session continuity serves clients
that resend the whole history without a session header (Open WebUI, LibreChat, LobeChat):
it finds the caller's session that history continues, only for the key and the client
identity that started it (the `user` field, or the X-OpenWebUI-User-Id header Open WebUI
sends with ENABLE_FORWARD_USER_INFO_HEADERS), so several users behind one key never share a
session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.deps import Services

import hashlib
import re
import uuid
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.graph.state import CompiledStateGraph

from agent.errors import AgentError
from agent.messages import client_view, content_text, fingerprint, to_openai
from api.keys import Caller
from api.protocol import ChatCompletionRequest
from api.turn_plan import split_request
from graph.approval import pending_approvals
from graph.store.health import StoreHealth
from graph.store.owners import Owners
from mcp_tools.builtin.browser import BROWSER_SESSIONS

SESSION_ID_HEADER = "X-Session-ID"


_SESSION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def checked_session_id(value: str) -> str:
    """A session id from a client, or a 400 saying what ids look like."""
    if not _SESSION_ID.fullmatch(value):
        raise AgentError(
            f"{SESSION_ID_HEADER} must be 1-128 letters, digits or . _ : - (got {value[:40]!r}); "
            "use the id a previous response returned, or omit the header.",
            param=SESSION_ID_HEADER,
            code="invalid_session_id",
        )
    return value


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return uuid.uuid4().hex


def thread_config(session_id: str) -> dict[str, Any]:
    """The LangGraph config addressing a session's thread."""
    return {"configurable": {"thread_id": session_id}}


def unknown_session(session_id: str) -> AgentError:
    """A session id that has no stored conversation."""
    return AgentError(
        f"Session {session_id!r} does not exist (deleted, or never created). Omit the "
        f"{SESSION_ID_HEADER} header to start a new session.",
        param=SESSION_ID_HEADER,
        code="session_not_found",
    )


class Sessions:
    """Reads and writes the conversations stored by the graph's checkpointer."""

    def __init__(self, graph: CompiledStateGraph, health: StoreHealth | None = None) -> None:
        self.graph = graph
        self.health = health or StoreHealth(graph.checkpointer)
        """Turns ask it whether a failure was the database's (the 503 database_unavailable)."""

    async def snapshot(self, session_id: str) -> Any | None:
        """The latest checkpoint of a session, or None when it does not exist."""
        state = await self.graph.aget_state(thread_config(session_id))
        return state if state.created_at is not None else None

    async def require(self, session_id: str) -> Any:
        """The latest checkpoint, or the 404 error."""
        state = await self.snapshot(session_id)
        if state is None:
            raise unknown_session(session_id)
        return state

    async def create(self, session_id: str, instructions: str | None) -> None:
        """Store an empty conversation so the session exists before its first turn."""
        values = {"messages": [], "instructions": instructions}
        await self.graph.aupdate_state(thread_config(session_id), values, as_node="start_turn")

    async def delete(self, session_id: str) -> None:
        """Forget a session entirely."""
        await self.require(session_id)
        await self.graph.checkpointer.adelete_thread(session_id)
        BROWSER_SESSIONS.forget(session_id)

    async def reset(self, session_id: str) -> None:
        """Clear a session's messages, keeping its id and instructions."""
        state = await self.require(session_id)
        await self.graph.checkpointer.adelete_thread(session_id)
        BROWSER_SESSIONS.forget(session_id)
        await self.create(session_id, state.values.get("instructions"))

    async def rename(self, session_id: str, title: str) -> None:
        """Give the session a title (kept in its checkpoint, like its instructions)."""
        await self.require(session_id)
        config = thread_config(session_id)
        await self.graph.aupdate_state(config, {"title": title}, as_node="start_turn")

    async def history(self, session_id: str) -> dict[str, Any]:
        """The stored conversation as OpenAI messages."""
        state = await self.require(session_id)
        instructions = state.values.get("instructions")
        messages: list[BaseMessage] = list(state.values.get("messages", []))
        if instructions:
            messages.insert(0, SystemMessage(content=instructions))
        return {
            "id": session_id,
            "object": "session",
            "instructions": instructions,
            "title": state.values.get("title") or title_of(messages),
            "messages": [to_openai(m) for m in messages],
            "pending_approvals": pending_approvals(state),
        }


TITLE_WORDS = 8


def title_of(messages: list[BaseMessage]) -> str | None:
    """The first words of the first user message."""
    first = next((m for m in messages if isinstance(m, HumanMessage)), None)
    if first is None:
        return None
    words = content_text(first.content).split()
    return " ".join(words[:TITLE_WORDS]) + (" …" if len(words) > TITLE_WORDS else "")


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
