"""Graph state: the conversation plus per-turn bookkeeping."""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from typing_extensions import TypedDict  # pydantic (Studio's schemas) rejects typing's on 3.11

from graph.message_merge import merge_messages


class InputState(TypedDict):
    """What a caller (or LangGraph Studio's chat view) sends in: new messages."""

    messages: Annotated[list[AnyMessage], merge_messages]


class State(InputState, total=False):
    """Everything a session stores between turns."""

    instructions: str | None
    """The session's system instructions, set by a system message in a request."""
    title: str | None
    """A title the owner gave the session (PATCH /v1/sessions/{id})."""
    steps: int
    """Model calls made in the current turn."""
    retries: int
    """Re-asks after unusable tool calls in the current turn."""
    call_errors: dict[str, str]
    """Tool-call id -> why the last model reply's call cannot be run."""
    written_bytes: int
    """Bytes the file tools wrote in the current turn (TOOL_WRITE_BYTES_PER_TURN)."""
    usage: dict[str, Any]
    """Token usage summed over the current turn's model calls."""
    trimmed: int
    """Stored messages the current turn's model calls were not sent (context window)."""
    summary: dict[str, Any]
    """CONTEXT_STRATEGY=summarize: {"text", "covers": stored messages it stands in for}."""


def pending_client_calls(state: State) -> list[dict]:
    """Calls of the last assistant reply that have no tool result yet."""
    messages = state["messages"]
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage):
            return [dict(c) for c in message.tool_calls if c["id"] not in answered]
    return []
