"""Values worked out from a stored message, kept by the message's identity.

A stored message is the same object on every turn of its session while the session is
cached (graph/latest_cache.py) and is never changed in place (a message replaced by id is
another object), so a turn on a long session works out only its new messages. Each entry
holds its object, so the object's id cannot be reused by another while it is kept. The
oldest entries go first (a long session's messages may be worked out again; a lookup that
reorders entries would cost more, on every message of every turn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Obj = TypeVar("Obj")
Value = TypeVar("Value")


class IdentityMemo(Generic[Obj, Value]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: dict[int, tuple[Obj, Value]] = {}

    def get(self, obj: Obj, work_out: Callable[[Obj], Value]) -> Value:
        """The value kept for `obj`, or `work_out(obj)` kept for it."""
        kept = self._kept.get(id(obj))
        if kept is not None and kept[0] is obj:
            return kept[1]
        value = work_out(obj)
        self._kept.pop(id(obj), None)  # a dead object's entry: the new one goes last
        self._kept[id(obj)] = (obj, value)
        while len(self._kept) > self.size:
            del self._kept[next(iter(self._kept))]
        return value

    def __len__(self) -> int:
        return len(self._kept)
