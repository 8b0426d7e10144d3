"""Which session the tool calls being run belong to (set by the graph's tool node), for
tools that keep state per session (the python interpreter)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

NO_SESSION = "default"

_current: ContextVar[str] = ContextVar("tool_session", default=NO_SESSION)


@contextmanager
def tool_session(session_id: str) -> Iterator[None]:
    """Make `session_id` the session of the tool calls run inside."""
    token = _current.set(session_id)
    try:
        yield
    finally:
        _current.reset(token)


def current_session() -> str:
    """The session of the call being run; NO_SESSION outside a turn."""
    return _current.get()
