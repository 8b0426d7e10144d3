"""What the graph's tool node sets around the calls of one reply, for the tools it runs:
which session the calls belong to (tools that keep state per session, such as the python
interpreter), and how many bytes the file tools may still write this turn.

`write_file` charges the `turn_write_budget`; outside one (a tool called directly) writes
are bounded only per call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from langchain_core.tools import ToolException

NO_SESSION = "default"

_session: ContextVar[str] = ContextVar("tool_session", default=NO_SESSION)


@contextmanager
def tool_session(session_id: str) -> Iterator[None]:
    """Make `session_id` the session of the tool calls run inside."""
    token = _session.set(session_id)
    try:
        yield
    finally:
        _session.reset(token)


def current_session() -> str:
    """The session of the call being run; NO_SESSION outside a turn."""
    return _session.get()


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


_budget: ContextVar[WriteBudget | None] = ContextVar("turn_write_budget", default=None)


@contextmanager
def turn_write_budget(limit: int, used: int = 0) -> Iterator[WriteBudget]:
    """Make a budget of `limit` bytes (`used` already spent) the current one."""
    budget = WriteBudget(limit, used)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def current_budget() -> WriteBudget | None:
    """The budget of the turn this call belongs to, if any."""
    return _budget.get()
