"""The browser as three server tools, `browser_search`, `browser_open` and `browser_find`,
with the arguments gpt-oss's browser takes. Each session has its own page stack."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from ..fetch import Fetcher
from ..tool_turn import current_session
from .find import find_page
from .navigate import load
from .page import Page, PageKind, check_location, render
from .search import MAX_RESULTS, Searcher, results_page
from .state import BrowserSessions, BrowserState

SEARCH_HELP = (
    "Search the web. Returns a numbered list of results; open one with browser_open(id=N). "
    "Cite what you use as 【{cursor}†L{line_start}(-L{line_end})?】, e.g. 【6†L9-L11】."
)
OPEN_HELP = (
    "Open a link id of the current (or `cursor`) page, a URL given as `id`, or scroll the "
    "current page with `loc`/`num_lines`. Lines are numbered; the cursor is shown as [N]."
)
FIND_HELP = "Find the lines of the current (or `cursor`) page that contain `pattern`."


class SearchArgs(BaseModel):
    query: str = Field(description="What to search the web for.")
    topn: int = Field(10, description=f"How many results to list (1 to {MAX_RESULTS}).")
    source: str | None = Field(None, description="Ignored; kept for gpt-oss's signature.")


class OpenArgs(BaseModel):
    id: int | str = Field(-1, description="A link id of the page, or a full URL; -1: none.")
    cursor: int = Field(-1, description="The page to act on, by cursor; -1: the last one.")
    loc: int = Field(-1, description="First line to show; -1: the top (or the linked match).")
    num_lines: int = Field(-1, description="How many lines to show; -1: a screenful.")
    view_source: bool = Field(False, description="Show the page's source text instead.")
    source: str | None = Field(None, description="Ignored; kept for gpt-oss's signature.")


class FindArgs(BaseModel):
    pattern: str = Field(description="Text to look for (case is ignored).")
    cursor: int = Field(-1, description="The page to search, by cursor; -1: the last one.")


class Browser:
    """The three browser calls over a session's `BrowserState`."""

    def __init__(self, searcher: Searcher, fetcher: Fetcher, sessions: BrowserSessions) -> None:
        self.searcher = searcher
        self.fetcher = fetcher
        self.sessions = sessions

    def _state(self) -> BrowserState:
        return self.sessions.state(current_session())

    async def search(self, query: str, topn: int = 10, source: str | None = None) -> str:
        if not query.strip():
            raise ToolException("the query is empty; say what to search for")
        results = await self.searcher.search(query, min(max(topn, 1), MAX_RESULTS))
        return self._show(self._state(), results_page(query, results), 0, -1)

    async def open(
        self,
        id: int | str = -1,
        cursor: int = -1,
        loc: int = -1,
        num_lines: int = -1,
        view_source: bool = False,
        source: str | None = None,
    ) -> str:
        state = self._state()
        if isinstance(id, str) and id.strip().lstrip("-").isdigit():
            id = int(id)  # a link id sent as a string
        if isinstance(id, str):
            return self._show(state, await load(self.fetcher, id, view_source), loc, num_lines)
        current = state.page(cursor)
        if id < 0:
            if view_source and current.kind is PageKind.WEB and current.cite_url:
                current = await load(self.fetcher, current.cite_url, view_source=True)
            return self._show(state, current, loc, num_lines)
        link = current.links.get(id)
        if link is None:
            raise ToolException(f"Invalid link id `{id}`.")
        cached = None if view_source else state.cached(link.url)
        page = cached or await load(self.fetcher, link.url, view_source)
        if loc < 0 and link.line is not None:
            loc = link.line - 4 if link.line > 4 else link.line
        return self._show(state, page, loc, num_lines)

    async def find(self, pattern: str, cursor: int = -1) -> str:
        state = self._state()
        page = state.page(cursor)
        if page.kind is not PageKind.WEB:
            raise ToolException("Cannot run `find` on search results page or find results page")
        return self._show(state, find_page(page, pattern), 0, -1)

    @staticmethod
    def _show(state: BrowserState, page: Page, loc: int, num_lines: int) -> str:
        """Push `page` and show it from `loc`; a bad `loc` leaves the stack as it was."""
        start = max(loc, 0)
        check_location(page, start)
        cursor = state.push(page)
        return render(page, cursor, start, num_lines)


def browser_tool_list(browser: Browser) -> list[BaseTool]:
    """browser_search, browser_open and browser_find."""
    return [
        StructuredTool.from_function(
            coroutine=browser.search,
            name="browser_search",
            description=SEARCH_HELP,
            args_schema=SearchArgs,
        ),
        StructuredTool.from_function(
            coroutine=browser.open, name="browser_open", description=OPEN_HELP, args_schema=OpenArgs
        ),
        StructuredTool.from_function(
            coroutine=browser.find, name="browser_find", description=FIND_HELP, args_schema=FindArgs
        ),
    ]
