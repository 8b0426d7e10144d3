"""Values worked out per message of a conversation, kept for the part of it seen before.

A session's history only grows between turns: a stored message is never changed in place
(one replaced or removed by id leaves another object, or none, in its place), and every
model call hands the whole history over again. So the values are kept with the messages
they were worked out for, found by the conversation's first message; the next call reuses
them as far as its messages are the very same objects (a check that runs in C, not a
Python call per message) and works out only the rest: a turn on a 1,000-message session
works out its new messages, as one on a 10-message session does.

At most `size` messages are kept alive over all entries (agent/held_lists.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress, count
from operator import is_not
from typing import Generic, TypeVar

from agent.held_lists import HeldLists

Obj = TypeVar("Obj")
Value = TypeVar("Value")


class PrefixMemo(Generic[Obj, Value]):
    def __init__(self, work_out: Callable[[Obj], Value], size: int) -> None:
        self.work_out = work_out
        self._kept: HeldLists[Obj, list[Value]] = HeldLists(size)

    def values(self, objs: Sequence[Obj]) -> list[Value]:
        """`work_out` of each of `objs`, in order."""
        if not objs:
            return []
        key = id(objs[0])  # the entry holds objs[0]: its id names no other object meanwhile
        kept = self._kept.get(key)
        values = kept[1][: _same_prefix(objs, kept[0])] if kept is not None else []
        values.extend(map(self.work_out, objs[len(values) :]))
        self._kept.put(key, list(objs), values)
        return list(values)

    def __len__(self) -> int:
        """Objects held over all entries."""
        return self._kept.held


def _same_prefix(objs: Sequence[object], kept: list[object]) -> int:
    """How many objects `objs` and `kept` start with that are the same objects."""
    different = next(compress(count(), map(is_not, objs, kept)), None)
    return min(len(objs), len(kept)) if different is None else different
