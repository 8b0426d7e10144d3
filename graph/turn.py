"""The rules of a turn, shared by the HTTP service and LangGraph Studio.

* System (or developer) messages are not history: they set the session's instructions.
* A client may resend history: only what is not already the tail of the stored history
  (or of what the client was shown) is new.
* A turn's steps (one assistant message per model call) are joined for the client: the
  content of every step separated by a blank line, the reasoning of every step one per
  line, the client calls of the last step still waiting for their results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)

from agent.builtin_tools import GPT_OSS_TOOL_NAMES
from agent.messages import (
    client_view,
    content_text,
    fingerprint,
    positions_of,
    reasoning_of,
    tool_call_to_openai,
)
from graph.approval import approval_tool_calls
from graph.state import pending_client_calls

STEP_SEPARATOR = {"content": "\n\n", "reasoning": "\n"}
CITATIONS = "url_citations"
"""additional_kwargs key of a reply's `url_citation` annotations (indices in its content)."""


def split_instructions(messages: list[BaseMessage]) -> tuple[str | None, list[BaseMessage]]:
    """The system messages' text (joined; None when there are none) and the other messages."""
    system = _system_messages(messages)
    if not system:
        return None, list(messages)
    rest = [m for m in messages if not isinstance(m, SystemMessage)]
    return _joined(system), rest


def instructions_update(messages: list[BaseMessage]) -> dict[str, Any]:
    """The state update that takes system messages out of the history into the
    instructions (a Studio user may send one); empty when there are none."""
    system = _system_messages(messages)
    if not system:
        return {}
    removed = [RemoveMessage(id=m.id) for m in system if m.id]
    return {"instructions": _joined(system), "messages": removed}


def _system_messages(messages: list[BaseMessage]) -> list[BaseMessage]:
    return [messages[i] for i in positions_of(messages, SystemMessage)]


def _joined(system: list[BaseMessage]) -> str:
    return "\n\n".join(content_text(m.content) for m in system)


def new_messages(stored: list[BaseMessage], sent: list[BaseMessage]) -> list[BaseMessage]:
    """The messages of a request that are not already the tail of the stored history.

    Some clients resend the whole history, some a trimmed window, some only the new
    message; they resend what they were shown (`client_view`: a turn's steps folded into one
    answer) or what GET /v1/sessions/{id} lists (`stored`). Find the longest tail of either
    that the request starts with, and keep the rest.
    """
    sent_keys = [fingerprint(m) for m in sent]
    recent = _recent(stored, len(sent))
    overlap = max(_overlap(view, sent_keys) for view in (client_view(recent), recent))
    return sent[overlap:]


def _recent(stored: list[BaseMessage], count: int) -> list[BaseMessage]:
    """The shortest tail of `stored` that starts at a user message and holds `count` of
    them (all of `stored` when it has fewer). An overlap is at most `count` messages long,
    and folding (`client_view`) never crosses a user message, so the tail's view is the
    end of the whole history's view: a turn costs the same whatever the session's length.
    """
    seen = 0
    for index in range(len(stored) - 1, -1, -1):
        if isinstance(stored[index], HumanMessage):
            seen += 1
            if seen == count:
                return stored[index:]
    return stored


def _overlap(stored: list[BaseMessage], sent_keys: list[Any]) -> int:
    stored_keys = [fingerprint(m) for m in stored]
    for size in range(min(len(stored_keys), len(sent_keys)), 0, -1):
        if stored_keys[len(stored_keys) - size :] == sent_keys[:size]:
            return size
    return 0


@dataclass
class TurnOutcome:
    """What a finished turn returns to the client."""

    content: str | None
    reasoning: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)
    trimmed_messages: int = 0
    """Stored messages left out of a model call to fit the context window."""
    annotations: list[dict[str, Any]] = field(default_factory=list)
    """`url_citation` annotations of browser citations, indices in `content`."""
    builtin_calls: list[dict[str, Any]] = field(default_factory=list)
    """gpt-oss's own tool calls the server ran this turn (python, browser_*), in order:
    id, name, args, result, status (the Responses API shows them as items)."""


def turn_outcome(
    values: dict[str, Any], start_index: int, approvals: list[dict[str, Any]] | None = None
) -> TurnOutcome:
    """The client-facing result of a finished turn's state, exactly as a stream shows it;
    a turn stopped for `approvals` ends with the reserved approval calls."""
    turn = values.get("messages", [])[start_index:]
    replies = [m for m in turn if isinstance(m, AIMessage)]
    last = replies[-1] if replies else AIMessage(content="")
    pending = pending_client_calls(values) if turn else []
    content, annotations = _joined_content(replies)
    reasoning = STEP_SEPARATOR["reasoning"].join(r for r in map(reasoning_of, replies) if r)
    finish = last.response_metadata.get("finish_reason", "stop")
    calls = [tool_call_to_openai(c) for c in pending]
    if approvals:
        calls, finish = approval_tool_calls(approvals), "tool_calls"
    elif finish != "length":
        finish = "tool_calls" if pending else "stop" if finish == "tool_calls" else finish
    return TurnOutcome(
        content=content or None,
        reasoning=reasoning or None,
        tool_calls=calls,
        finish_reason=finish,
        usage=values.get("usage") or {},
        trimmed_messages=values.get("trimmed") or 0,
        annotations=annotations,
        builtin_calls=builtin_calls(turn),
    )


def _joined_content(replies: list[AIMessage]) -> tuple[str, list[dict[str, Any]]]:
    """The steps' content joined, and their citations' annotations moved to match."""
    parts: list[str] = []
    annotations: list[dict[str, Any]] = []
    offset = 0
    for reply in replies:
        text = content_text(reply.content)
        if not text:
            continue
        if parts:
            offset += len(STEP_SEPARATOR["content"])
        for note in reply.additional_kwargs.get(CITATIONS) or []:
            start, end = note["start_index"] + offset, note["end_index"] + offset
            annotations.append({**note, "start_index": start, "end_index": end})
        parts.append(text)
        offset += len(text)
    return STEP_SEPARATOR["content"].join(parts), annotations


def builtin_calls(turn: list[Any]) -> list[dict[str, Any]]:
    """The turn's answered calls to gpt-oss's own tools, with their results."""
    answers = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
    return [
        {
            "id": call["id"],
            "name": call["name"],
            "args": call.get("args") or {},
            "result": content_text(answers[call["id"]].content),
            "status": answers[call["id"]].status,
        }
        for message in turn
        if isinstance(message, AIMessage)
        for call in message.tool_calls
        if call["name"] in GPT_OSS_TOOL_NAMES and call["id"] in answers
    ]


def turn_record(
    start: int, values: dict[str, Any], approvals: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the session keeps of a finished turn to rebuild its outcome later (a stored
    response): where its output starts and ends, its usage, what it waits for."""
    return {
        "start": start,
        "end": len(values.get("messages", [])),
        "usage": values.get("usage") or {},
        "trimmed": values.get("trimmed") or 0,
        "approvals": approvals,
    }


def recorded_outcome(values: dict[str, Any], record: dict[str, Any]) -> TurnOutcome:
    """The outcome of a turn from its `turn_record` and the session's current state."""
    then = {
        **values,
        "messages": values.get("messages", [])[: record["end"]],
        "usage": record["usage"],
        "trimmed": record["trimmed"],
    }
    return turn_outcome(then, record["start"], record["approvals"])


def step_separator(kind: str, earlier: list[AIMessage]) -> str:
    """What goes before a step's first delta of `kind` when earlier steps of the turn wrote
    some: the same separator `turn_outcome` joins them with."""
    key = "content" if kind == "content" else "reasoning"
    wrote = any(content_text(m.content) if key == "content" else reasoning_of(m) for m in earlier)
    return STEP_SEPARATOR[key] if wrote else ""
