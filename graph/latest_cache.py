"""The decoded latest checkpoint of recently used sessions, kept in the process.

Decoding a long history is most of what reading a session costs, and a turn reads it twice
(the turn's plan, then the graph). An entry is used only while the store's latest
checkpoint id for the session is still the one it holds, so another process writing the
session (Postgres) makes it stale, never wrong.
"""

from __future__ import annotations

from collections import OrderedDict

from langgraph.checkpoint.base import CheckpointTuple, copy_checkpoint

CACHED_SESSIONS = 64
"""Sessions kept decoded; each holds its whole history in memory."""


class LatestCache:
    def __init__(self, size: int = CACHED_SESSIONS) -> None:
        self._size = size
        self._entries: OrderedDict[str, CheckpointTuple] = OrderedDict()

    def get(self, thread_id: str, latest_id: str | None) -> CheckpointTuple | None:
        """The session's entry if it holds checkpoint `latest_id` (a copy a run may change)."""
        entry = self._entries.get(thread_id)
        if entry is None or latest_id is None or entry.checkpoint["id"] != latest_id:
            return None
        self._entries.move_to_end(thread_id)
        return entry._replace(checkpoint=copy_checkpoint(entry.checkpoint))

    def remember(self, thread_id: str, entry: CheckpointTuple | None) -> None:
        if entry is None:
            self.forget(thread_id)
            return
        self._entries[thread_id] = entry._replace(checkpoint=copy_checkpoint(entry.checkpoint))
        self._entries.move_to_end(thread_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, thread_id: str) -> None:
        self._entries.pop(thread_id, None)
