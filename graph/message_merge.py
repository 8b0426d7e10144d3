"""How the messages a turn adds join a session's history: the state's reducer.

LangGraph's `add_messages` gives each message without an id a new one and replaces a
stored message that has the id of a new one; to find those it walks the whole history on
every step, and the graph applies each step's messages twice (the router reads the state
with the step's writes, then the step is applied). Here the ids of a history this reducer
made are kept beside it, so a step that brings only messages with ids the history does
not hold (every reply and tool result the graph makes, every message a request adds) is
one list concatenation. Anything else (an id the history holds, a removal, dicts, chunks,
a history this reducer did not make) goes through `add_messages`, which decides.
"""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, RemoveMessage
from langgraph.graph.message import Messages, add_messages

from agent.held_lists import HeldLists

IDS_KEPT = 200_000
"""Messages over all the histories remembered. A step makes two or three lists of one
session's messages (shared objects), so this keeps the lists of about as many recent
turns on 1,000-message sessions as graph/store/turn_saver.py keeps sessions."""


class _KeptIds:
    """The ids of histories this reducer made, by the list's identity. An entry holds its
    list, so its id names no other list meanwhile; lists in the state are never changed in
    place (a step makes a new one)."""

    def __init__(self, size: int) -> None:
        self._kept: HeldLists[BaseMessage, frozenset[str]] = HeldLists(size)

    def get(self, history: list[BaseMessage]) -> frozenset[str] | None:
        kept = self._kept.get(id(history))
        return kept[1] if kept is not None and len(kept[0]) == len(history) else None

    def remember(self, history: list[BaseMessage], ids: frozenset[str]) -> None:
        self._kept.put(id(history), history, ids)


_kept_ids = _KeptIds(IDS_KEPT)


def merge_messages(left: Messages, right: Messages) -> Messages:
    """`add_messages(left, right)`, as one concatenation where that is what it would do."""
    if not (isinstance(left, list) and isinstance(right, list) and all(map(_plain, right))):
        return add_messages(left, right)
    for message in right:
        if message.id is None:
            message.id = str(uuid.uuid4())
    ids = _kept_ids.get(left)
    added = [message.id for message in right]
    if ids is None or not ids.isdisjoint(added) or len(set(added)) != len(added):
        merged = add_messages(left, right)
        if isinstance(merged, list) and None not in (kept := _ids(merged)):
            _kept_ids.remember(merged, kept)
        return merged
    merged = left + right
    _kept_ids.remember(merged, ids.union(added))
    return merged


def _plain(message: Any) -> bool:
    return isinstance(message, BaseMessage) and not isinstance(
        message, (BaseMessageChunk, RemoveMessage)
    )


def _ids(history: list[BaseMessage]) -> frozenset[Any]:
    return frozenset(message.id for message in history)
