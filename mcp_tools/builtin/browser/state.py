"""Each session's browser: the stack of pages it opened (a page's cursor is its place in
the stack), kept in memory, bounded, and dropped after BROWSER_IDLE_SECONDS unused or
when the session is deleted.

Only the last KEPT_PAGES pages (at most KEPT_CHARS_PER_SESSION characters) keep their text;
older cursors keep their address and title, which is all a citation needs. All sessions
together keep at most `max_chars` (the least recently used sessions go first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from langchain_core.tools import ToolException

from .page import Page

KEPT_PAGES = 16
KEPT_CHARS_PER_SESSION = 4_000_000
KEPT_CHARS = 64_000_000
MAX_CURSORS = 1000


@dataclass(frozen=True)
class Visited:
    """What a cursor still knows after its page's text was let go."""

    url: str
    cite_title: str
    cite_url: str | None


@dataclass
class BrowserState:
    """One session's page stack."""

    stack: list[Page | Visited] = field(default_factory=list)

    @property
    def cursor(self) -> int:
        return len(self.stack) - 1

    def push(self, page: Page) -> int:
        """Put `page` on top; the new cursor."""
        if len(self.stack) >= MAX_CURSORS:
            raise ToolException(
                f"this session has opened {MAX_CURSORS} pages, the most it keeps; "
                "answer with what you found, or the user can start a new session"
            )
        self.stack.append(page)
        self._let_go_of_old_pages()
        return self.cursor

    def page(self, cursor: int = -1) -> Page:
        """The page at `cursor` (-1: the last one)."""
        if not self.stack:
            raise ToolException("No pages to access! Use search, or open a URL, first.")
        index = self.cursor if cursor == -1 else cursor
        if not 0 <= index <= self.cursor:
            raise ToolException(
                f"Cursor `{cursor}` is out of range. Available cursor indices: [0 - {self.cursor}]."
            )
        entry = self.stack[index]
        if isinstance(entry, Visited):
            raise ToolException(
                f"the page at cursor {index} ({entry.url}) is no longer kept; open its URL again"
            )
        return entry

    def cached(self, url: str) -> Page | None:
        """The newest kept web page with this address."""
        for entry in reversed(self.stack):
            if isinstance(entry, Page) and entry.url == url and entry.cite_url == url:
                return entry
        return None

    def citable(self, cursor: int) -> tuple[str, str] | None:
        """(url, title) a citation of `cursor` links to, if that cursor has an address."""
        if not 0 <= cursor <= self.cursor:
            return None
        entry = self.stack[cursor]
        title = entry.cite_title if isinstance(entry, Visited) else entry.cite_title or entry.title
        return (entry.cite_url, title) if entry.cite_url else None

    def kept_chars(self) -> int:
        """Characters of the pages that keep their text (each page object counted once)."""
        return sum({id(e): e.size for e in self.stack if isinstance(e, Page)}.values())

    def _let_go_of_old_pages(self) -> None:
        """Keep the newest page always, then newer pages while both bounds allow."""
        seen: set[int] = set()
        chars = 0
        for index in range(len(self.stack) - 1, -1, -1):
            entry = self.stack[index]
            if not isinstance(entry, Page):
                continue
            if id(entry) not in seen:
                seen.add(id(entry))
                chars += entry.size
            if len(seen) > 1 and (len(seen) > KEPT_PAGES or chars > KEPT_CHARS_PER_SESSION):
                title = entry.cite_title or entry.title
                self.stack[index] = Visited(entry.url, title, entry.cite_url)


class BrowserSessions:
    """The browser state of every recent session, least recently used dropped first."""

    def __init__(
        self, idle_seconds: float = 3600.0, max_sessions: int = 256, max_chars: int = KEPT_CHARS
    ) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self.max_chars = max_chars
        self._states: OrderedDict[str, tuple[BrowserState, float]] = OrderedDict()
        self._lock = threading.Lock()

    def configure(self, idle_seconds: float, max_sessions: int) -> None:
        self.idle_seconds, self.max_sessions = idle_seconds, max_sessions

    def state(self, session_id: str) -> BrowserState:
        """The session's browser, made when it has none (or it went idle)."""
        with self._lock:
            self._drop_idle()
            state = self._states.pop(session_id, (BrowserState(), 0.0))[0]
            self._states[session_id] = (state, time.monotonic())
            while len(self._states) > self.max_sessions:
                self._states.popitem(last=False)
            self._fit_memory()
            return state

    def existing(self, session_id: str) -> BrowserState | None:
        """The session's browser if it has one, without making one or touching its age."""
        with self._lock:
            self._drop_idle()
            found = self._states.get(session_id)
            return found[0] if found else None

    def forget(self, session_id: str) -> None:
        """Drop a session's pages (the session was deleted or reset)."""
        with self._lock:
            self._states.pop(session_id, None)

    def _fit_memory(self) -> None:
        """Drop the least recently used sessions (never the current, last one) while all
        pages together hold more than `max_chars`."""
        total = sum(state.kept_chars() for state, _ in self._states.values())
        while total > self.max_chars and len(self._states) > 1:
            _, (state, _) = self._states.popitem(last=False)
            total -= state.kept_chars()

    def _drop_idle(self) -> None:
        oldest_kept = time.monotonic() - self.idle_seconds
        while self._states:
            _, (_, used) = next(iter(self._states.items()))
            if used >= oldest_kept:
                break
            self._states.popitem(last=False)


BROWSER_SESSIONS = BrowserSessions()
"""The process's browser states: the tools, the citation step and session deletion share it."""
