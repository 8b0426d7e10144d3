"""A session's messages stored as rows of their own, so a turn writes only its new ones.

LangGraph stores a checkpoint's channel values as serialized values: the messages channel
is one value holding the whole history, serialized and written again at every commit, so a
turn on a long session cost in proportion to its length. Here the stored checkpoint holds
a small reference instead, `{ROWS_KEY: [generation, count]}`, and the messages are rows
(thread, generation, seq). A commit whose history begins with the very messages the
session's stored checkpoint holds (the same objects, in order: nothing was replaced or
removed) appends the rest to the same generation; any other history (a summary replaced
old messages, the session is not known to this process) is written whole as a new
generation, named by the checkpoint that starts it, and the older generations are deleted
once that checkpoint is stored.

A turn stays whole: rows are written before the checkpoint that counts them, and a reader
takes only the first `count` rows of the checkpoint's generation, so rows of a commit that
never finished are never read, and the next commit overwrites them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from operator import is_
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.base import Checkpoint, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol

from graph.store.sql import StoreSql

MESSAGES = "messages"
ROWS_KEY = "oss_agent_rows"
"""The stored checkpoint's messages value names its rows: {ROWS_KEY: [generation, count]}."""

CACHED_SESSIONS = 64
"""Sessions whose history is kept decoded (and known here); each holds its whole history in
memory."""


class RowsMissing(RuntimeError):
    """The checkpoint names rows the store no longer holds (another process replaced the
    session's history while it was read)."""


@dataclass(frozen=True)
class _Stored:
    """The messages a stored checkpoint holds, as this process read or wrote them."""

    checkpoint_id: str
    generation: str
    messages: list[BaseMessage]


class HistoryRows:
    def __init__(self, sql: StoreSql, serde: SerializerProtocol) -> None:
        self._sql = sql
        self._serde = serde
        self._known: OrderedDict[str, _Stored] = OrderedDict()

    async def stored_form(
        self, thread_id: str, parent_id: str | None, checkpoint: Checkpoint
    ) -> Checkpoint:
        """Write the rows `checkpoint` adds to its parent's (all of them in a new generation
        when its history does not extend the parent's); the checkpoint to store."""
        messages = checkpoint["channel_values"].get(MESSAGES)
        if not isinstance(messages, list):
            return checkpoint
        known = self._known.get(thread_id)
        if (
            known is not None
            and known.checkpoint_id == parent_id
            and _extends(messages, known.messages)
        ):
            generation, start = known.generation, len(known.messages)
        else:
            generation, start = checkpoint["id"], 0
        rows = [self._serde.dumps_typed(message) for message in messages[start:]]
        await self._sql.write_messages(thread_id, generation, start, rows)
        self._remember(thread_id, _Stored(checkpoint["id"], generation, list(messages)))
        values = {**checkpoint["channel_values"], MESSAGES: {ROWS_KEY: [generation, len(messages)]}}
        return {**checkpoint, "channel_values": values}

    async def committed(self, thread_id: str, checkpoint: Checkpoint) -> None:
        """After `stored_form`'s checkpoint is stored: delete the generations it replaced."""
        reference = checkpoint["channel_values"].get(MESSAGES)
        if isinstance(reference, dict) and reference[ROWS_KEY][0] == checkpoint["id"]:
            await self._sql.drop_generations(thread_id, keep=checkpoint["id"])

    async def hydrated(
        self, thread_id: str, entry: CheckpointTuple | None
    ) -> CheckpointTuple | None:
        """`entry` (as the store gave it) with its messages read from their rows."""
        if entry is None:
            return None
        values = entry.checkpoint["channel_values"]
        reference = values.get(MESSAGES)
        if not (isinstance(reference, dict) and ROWS_KEY in reference):
            return entry  # stored before messages had rows, or no messages
        generation, count = reference[ROWS_KEY]
        known = self._known.get(thread_id)
        if known is not None and known.checkpoint_id == entry.checkpoint["id"]:
            messages = list(known.messages)
        else:
            rows = await self._sql.read_messages(thread_id, generation, count)
            if len(rows) != count:
                raise RowsMissing(f"session {thread_id}: {len(rows)} of {count} messages found")
            messages = [self._serde.loads_typed(row) for row in rows]
            self._remember(thread_id, _Stored(entry.checkpoint["id"], generation, list(messages)))
        checkpoint = {**entry.checkpoint, "channel_values": {**values, MESSAGES: messages}}
        return entry._replace(checkpoint=checkpoint)

    async def forget(self, thread_id: str) -> None:
        """The session is deleted: its rows too."""
        self._known.pop(thread_id, None)
        await self._sql.drop_generations(thread_id, keep=None)

    def _remember(self, thread_id: str, stored: _Stored) -> None:
        self._known[thread_id] = stored
        self._known.move_to_end(thread_id)
        while len(self._known) > CACHED_SESSIONS:
            self._known.popitem(last=False)


def _extends(messages: list[Any], stored: list[BaseMessage]) -> bool:
    """Whether `messages` starts with the `stored` objects themselves, in order. Stored
    messages are never changed in place; one replaced by id is another object."""
    return len(messages) >= len(stored) and all(map(is_, messages, stored))
