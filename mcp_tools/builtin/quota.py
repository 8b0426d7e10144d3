"""How many bytes the file tools may still write in the current turn.

The graph's tool node opens a `turn_write_budget` around the calls of a reply; write_file
charges it. Outside one (a tool called directly) writes are bounded only per call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from langchain_core.tools import ToolException

QUOTA_SETTING = "TOOL_WRITE_BYTES_PER_TURN"


class WriteBudget:
    """Bytes written so far this turn against a limit; safe to charge from tool threads."""

    def __init__(self, limit: int, used: int = 0) -> None:
        self.limit = limit
        self.used = used
        self._lock = threading.Lock()

    def charge(self, size: int) -> None:
        """Count `size` bytes about to be written, or refuse them all, telling the model."""
        with self._lock:
            if self.used + size > self.limit:
                left = max(self.limit - self.used, 0)
                raise ToolException(
                    f"write refused: {size} bytes would take this turn's file writes past "
                    f"{self.limit} bytes ({QUOTA_SETTING}); {left} bytes are left in this "
                    "turn. Write less, or tell the user the limit was reached."
                )
            self.used += size

    def refund(self, size: int) -> None:
        """Give back bytes charged for a write that failed."""
        with self._lock:
            self.used -= size


_current: ContextVar[WriteBudget | None] = ContextVar("turn_write_budget", default=None)


@contextmanager
def turn_write_budget(limit: int, used: int = 0) -> Iterator[WriteBudget]:
    """Make a budget of `limit` bytes (`used` already spent) the current one."""
    budget = WriteBudget(limit, used)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current_budget() -> WriteBudget | None:
    """The budget of the turn this call belongs to, if any."""
    return _current.get()
