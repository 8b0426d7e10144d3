"""gpt-oss's browser (`search`, `open`, `find`, with citations) as server tools; see
docs/builtin-tools-browser.md. On when BUILTIN_TOOLS names `browser`."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from agent.settings import Settings

from ..fetch import Fetcher
from ..netguard import AddressPolicy
from .find import searched_address
from .page import shown_address
from .search import searcher_for
from .state import BROWSER_SESSIONS
from .tools import Browser, browser_tool_list

BROWSER_TOOL_NAMES = ["browser_search", "browser_open", "browser_find"]

__all__ = [
    "BROWSER_SESSIONS",
    "BROWSER_TOOL_NAMES",
    "browser_tools",
    "searched_address",
    "shown_address",
]


def browser_tools(settings: Settings) -> list[BaseTool]:
    """browser_search, browser_open and browser_find, sharing the process's session states."""
    BROWSER_SESSIONS.configure(settings.browser_idle_seconds, settings.browser_max_sessions)
    searcher = searcher_for(settings.browser_search_backend, settings.browser_searxng_url)
    policy = AddressPolicy.from_allow_list(settings.tools_fetch_allow)
    fetcher = Fetcher(policy, settings.tools_fetch_max_bytes)
    return browser_tool_list(Browser(searcher, fetcher, BROWSER_SESSIONS))
