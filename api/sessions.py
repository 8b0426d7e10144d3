"""Sessions: a session id is a LangGraph thread; its checkpoint holds the conversation."""

from __future__ import annotations

import re
import uuid
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.graph.state import CompiledStateGraph

from agent.errors import AgentError
from agent.messages import content_text, to_openai
from graph.approval import pending_approvals
from graph.store.health import StoreHealth
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
