"""Entries that each hold a list of objects, bounded by the objects held over all of them.

The per-conversation caches (agent/prefix_memo.py, graph/message_merge.py) keep lists of a
session's messages; a list cannot be weakly referenced, so an entry keeps its messages
alive. The bound is on those messages, the least recently used entry going first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

Obj = TypeVar("Obj")
Value = TypeVar("Value")


class HeldLists(Generic[Obj, Value]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[list[Obj], Value]] = OrderedDict()
        self.held = 0
        """Objects held over all entries."""

    def get(self, key: int) -> tuple[list[Obj], Value] | None:
        """The entry under `key`, now the most recently used."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: int, objs: list[Obj], value: Value) -> None:
        """Keep `objs` and `value` under `key` (replacing its entry); drop the least
        recently used entries while more than `size` objects are held."""
        if (earlier := self._entries.pop(key, None)) is not None:
            self.held -= len(earlier[0])
        self._entries[key] = (objs, value)
        self.held += len(objs)
        while self.held > self.size and self._entries:
            self.held -= len(self._entries.popitem(last=False)[1][0])
