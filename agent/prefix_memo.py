"""Values worked out per message of a conversation, kept for the part of it seen before.

A session's history only grows between turns: a stored message is never changed in place
(one replaced or removed by id leaves another object, or none, in its place), and every
model call hands the whole history over again. So the values are kept with the messages
they were worked out for, found by the conversation's first message; the next call reuses
them as far as its messages are the very same objects (a check that runs in C, not a
Python call per message) and works out only the rest: a turn on a 1,000-message session
works out its new messages, as one on a 10-message session does.

An entry holds its messages (a list cannot be weakly referenced), so the memo keeps at
most `size` messages alive over all its entries, the least recently used going first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from itertools import compress, count
from operator import is_not
from typing import Generic, TypeVar

Obj = TypeVar("Obj")
Value = TypeVar("Value")


class PrefixMemo(Generic[Obj, Value]):
    def __init__(self, work_out: Callable[[Obj], Value], size: int) -> None:
        self.work_out = work_out
        self.size = size
        self._kept: OrderedDict[int, tuple[list[Obj], list[Value]]] = OrderedDict()
        self._held = 0
        """Objects held over all entries."""

    def values(self, objs: Sequence[Obj]) -> list[Value]:
        """`work_out` of each of `objs`, in order."""
        if not objs:
            return []
        key = id(objs[0])  # the entry holds objs[0]: its id names no other object meanwhile
        kept = self._kept.pop(key, None)
        values: list[Value] = []
        if kept is not None:
            self._held -= len(kept[0])
            values = kept[1][: _same_prefix(objs, kept[0])]
        values.extend(map(self.work_out, objs[len(values) :]))
        self._kept[key] = (list(objs), values)
        self._held += len(objs)
        while self._held > self.size and self._kept:
            self._held -= len(self._kept.popitem(last=False)[1][0])
        return list(values)

    def __len__(self) -> int:
        """Objects held over all entries."""
        return self._held


def _same_prefix(objs: Sequence[object], kept: list[object]) -> int:
    """How many objects `objs` and `kept` start with that are the same objects."""
    different = next(compress(count(), map(is_not, objs, kept)), None)
    return min(len(objs), len(kept)) if different is None else different
