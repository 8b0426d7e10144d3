"""Values worked out from a stored message, kept by the message's identity.

A stored message is the same object on every turn of its session while the session is
cached (graph/latest_cache.py) and is never changed in place (a message replaced by id is
another object), so a turn on a long session works out only its new messages. An entry
lives as long as its message and no longer (a weak reference: the memo never keeps a
message alive), and at most `size` entries are kept, the oldest going first.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

Obj = TypeVar("Obj")
Value = TypeVar("Value")


class IdentityMemo(Generic[Obj, Value]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: dict[int, tuple[weakref.ref, Value]] = {}

    def get(self, obj: Obj, work_out: Callable[[Obj], Value]) -> Value:
        """The value kept for `obj`, or `work_out(obj)` kept for it."""
        key = id(obj)
        kept = self._kept.get(key)
        if kept is not None and kept[0]() is obj:
            return kept[1]
        value = work_out(obj)
        self._kept.pop(key, None)  # a dead object's entry: the new one goes last
        self._kept[key] = (weakref.ref(obj, self._forget(key)), value)
        while len(self._kept) > self.size:
            del self._kept[next(iter(self._kept))]
        return value

    def __len__(self) -> int:
        return len(self._kept)

    def _forget(self, key: int) -> Callable[[weakref.ref], None]:
        def forget(ref: weakref.ref) -> None:
            kept = self._kept.get(key)
            if kept is not None and kept[0] is ref:  # not a newer object's entry
                del self._kept[key]

        return forget
