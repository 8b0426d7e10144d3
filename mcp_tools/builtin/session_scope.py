"""Which session a tool call belongs to, for tools that keep state per session.

The graph's tool node opens a `session_scope` around the calls of a reply (like
`turn_write_budget`); a tool reads `current_session_id()`. Outside one (a tool called
directly) the id is the empty string: one shared, anonymous session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str] = ContextVar("tool_session_id", default="")


@contextmanager
def session_scope(session_id: str) -> Iterator[None]:
    """Make `session_id` the session of the tool calls run inside."""
    token = _current.set(session_id)
    try:
        yield
    finally:
        _current.reset(token)


def current_session_id() -> str:
    """The session of the running tool call ('' outside any session)."""
    return _current.get()
