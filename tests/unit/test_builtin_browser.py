"""The browser tools against a local SearXNG-compatible search and local pages: search,
open (links, scrolling, the fetch guard), find, per-session state and citations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from ddgs.exceptions import DDGSException
from langchain_core.tools import BaseTool, ToolException
from pydantic import ValidationError

from agent.settings import SearchBackend, Settings
from mcp_tools.builtin import builtin_tools
from mcp_tools.builtin.browser import BROWSER_SESSIONS, BROWSER_TOOL_NAMES, browser_tools
from mcp_tools.builtin.browser.citations import linkify
from mcp_tools.builtin.browser.page import Page
from mcp_tools.builtin.browser.search import DdgsSearcher, SearxngSearcher, searcher_for
from mcp_tools.builtin.browser.state import (
    KEPT_CHARS_PER_SESSION,
    KEPT_PAGES,
    BrowserSessions,
    BrowserState,
)
from mcp_tools.builtin.tool_turn import tool_session
from tests.web_site import WebSite, running_site


@pytest.fixture(scope="module")
def site() -> Iterator[WebSite]:
    with running_site() as site:
        yield site


def tools_for(site: WebSite, allow: str = "127.0.0.1", **more: object) -> dict[str, BaseTool]:
    settings = Settings(
        _env_file=None,
        tools_enabled="none",
        builtin_tools="browser",
        browser_searxng_url=site.base,
        tools_fetch_allow=allow,
        **more,
    )
    return {tool.name: tool for tool in browser_tools(settings)}


@pytest.fixture
def session() -> Iterator[str]:
    session_id = f"test-{uuid.uuid4().hex}"
    with tool_session(session_id):
        yield session_id
    BROWSER_SESSIONS.forget(session_id)


@pytest.fixture
def browser(site: WebSite, session: str) -> dict[str, BaseTool]:
    return tools_for(site)


def line_of(view: str, text: str) -> int:
    """The number of the first shown line containing `text`."""
    match = re.search(rf"^L(\d+): .*{re.escape(text)}", view, re.MULTILINE)
    assert match, f"{text!r} not in:\n{view}"
    return int(match.group(1))


def test_browser_is_off_by_default_and_on_with_builtin_tools(tmp_path) -> None:
    base = {"_env_file": None, "tools_workspace": tmp_path}
    assert not set(BROWSER_TOOL_NAMES) & {t.name for t in builtin_tools(Settings(**base))}
    named = {t.name for t in builtin_tools(Settings(**base, builtin_tools="browser"))}
    assert set(BROWSER_TOOL_NAMES) <= named


def test_unknown_builtin_tool_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown gpt-oss tool"):
        Settings(_env_file=None, builtin_tools="browser,shell")


async def test_ddgs_failures_are_tool_errors_and_results_are_listed() -> None:
    """The network part of ddgs is never reached here: its text search is replaced by ones
    that answer as it does (a list of title/href/body) or fail as it does."""

    def failing(query: str, max_results: int) -> list[dict[str, str]]:
        raise DDGSException("No results found.")

    def answering(query: str, max_results: int) -> list[dict[str, str]]:
        hit = {"title": "Otters", "href": "https://otters.example/", "body": "About otters."}
        return [hit, {"title": "no address"}][:max_results]

    with pytest.raises(ToolException, match=r"the search \(ddgs\) failed: No results found"):
        await DdgsSearcher(failing).search("otters", 5)
    found = await DdgsSearcher(answering).search("otters", 5)
    assert [(r.title, r.url, r.snippet) for r in found] == [
        ("Otters", "https://otters.example/", "About otters.")
    ]


def test_search_backend_is_chosen_by_the_setting() -> None:
    assert isinstance(searcher_for(SearchBackend.DDGS, "http://x"), DdgsSearcher)
    searxng = searcher_for(SearchBackend.SEARXNG, "http://searxng:8080")
    assert isinstance(searxng, SearxngSearcher) and searxng.base_url == "http://searxng:8080"
    with pytest.raises(ValidationError):
        Settings(_env_file=None, browser_search_backend="bing")


async def test_search_open_find_and_cite(browser: dict[str, BaseTool], site: WebSite, session):
    results = await browser["browser_search"].ainvoke({"query": "sea otters"})
    assert results.startswith("[0] sea otters\n**viewing lines [0 - ")
    domain = site.base.removeprefix("http://")
    assert f"  * 【0†Sea otters†{domain}】 Marine mammals." in results
    assert f"  * 【1†Kelp forests†{domain}】 Underwater." in results

    page = await browser["browser_open"].ainvoke({"id": 0})
    assert page.startswith(f"[1] Sea otters ({site.base}/otters)\n**viewing lines [0 - ")
    assert f"L1: URL: {site.base}/otters" in page
    assert "Copyright nobody" not in page  # the footer is not main content
    assert "【" in page and "kelp forests】" in page  # a same-site link: no domain
    assert "†far.example】" in page

    found = await browser["browser_find"].ainvoke({"pattern": "Urchins"})
    assert found.startswith("[2] Find results for text: `Urchins` in `Sea otters`")
    assert "# 【0†match at L" in found and "urchins" in found

    tools_line = line_of(page, "use tools")
    answer = f"Otters use stones as tools【1†L{tools_line}】 and rest in kelp【2†L0-L3】."
    text, citations = linkify(answer, BROWSER_SESSIONS.existing(session))
    link = f"([{domain}]({site.base}/otters))"
    assert text == f"Otters use stones as tools {link} and rest in kelp {link}."
    assert [text[c.start_index : c.end_index] for c in citations] == [link, link]
    assert {c.url for c in citations} == {f"{site.base}/otters"}
    assert {c.title for c in citations} == {"Sea otters"}


async def test_a_search_result_list_is_not_a_citation(browser: dict[str, BaseTool], session):
    await browser["browser_search"].ainvoke({"query": "otters"})
    answer = "See【0†L4】 and【7†L1】."
    assert linkify(answer, BROWSER_SESSIONS.existing(session)) == (answer, [])


async def test_following_a_link_id_of_an_opened_page(
    browser: dict[str, BaseTool], site: WebSite
) -> None:
    page = await browser["browser_open"].ainvoke({"id": f"{site.base}/otters"})
    kelp_id = int(re.search(r"【(\d+)†kelp forests】", page).group(1))
    kelp = await browser["browser_open"].ainvoke({"id": kelp_id})
    assert kelp.startswith(f"[1] Kelp forests ({site.base}/kelp)")
    assert "high density of kelp" in kelp
    back = await browser["browser_open"].ainvoke({"cursor": 0, "id": kelp_id, "loc": 2})
    assert back.startswith("[2] Kelp forests") and "viewing lines [2 - " in back
    with pytest.raises(ToolException, match="Invalid link id `99`"):
        await browser["browser_open"].ainvoke({"id": 99})


async def test_find_result_opens_the_page_at_the_match(
    browser: dict[str, BaseTool], site: WebSite
) -> None:
    await browser["browser_open"].ainvoke({"id": f"{site.base}/long"})
    found = await browser["browser_find"].ainvoke({"pattern": "paragraph 250:"})
    line = int(re.search(r"# 【0†match at L(\d+)】", found).group(1))
    opened = await browser["browser_open"].ainvoke({"id": 0})
    assert opened.startswith("[2] Long")
    assert f"viewing lines [{line - 4} - " in opened and "Paragraph 250:" in opened
    assert site.seen.count("/long") == 1  # the kept page, not a second download


async def test_scrolling_with_loc_and_num_lines(browser: dict[str, BaseTool], site: WebSite):
    first = await browser["browser_open"].ainvoke({"id": f"{site.base}/long"})
    total = int(re.search(r"\] of (\d+)\*\*", first).group(1))
    shown = int(re.search(r"viewing lines \[0 - (\d+)\]", first).group(1))
    assert 10 < shown < total  # one screenful, not the whole page
    part = await browser["browser_open"].ainvoke({"loc": 50, "num_lines": 10})
    assert part.startswith("[1] Long") and f"viewing lines [50 - 59] of {total}" in part
    assert part.count("\nL") == 10 and "\nL50: " in part and "\nL59: " in part
    with pytest.raises(ToolException, match=f"Cannot exceed page maximum of {total}"):
        await browser["browser_open"].ainvoke({"loc": total + 1})
    again = await browser["browser_open"].ainvoke({"loc": total, "cursor": 0})
    assert again.startswith("[2] Long")  # the refused scroll took no cursor


@pytest.mark.parametrize("path", ["/otters", "/kelp"])
async def test_the_fetch_guard_refuses_loopback_pages(site: WebSite, session, path: str) -> None:
    browser = tools_for(site, allow="")
    with pytest.raises(ToolException, match=r"refused: '127\.0\.0\.1' resolves to 127\.0\.0\.1"):
        await browser["browser_open"].ainvoke({"id": site.base + path})
    # The search service itself is the operator's: it is asked; its result links are not.
    await browser["browser_search"].ainvoke({"query": "otters"})
    with pytest.raises(ToolException, match="refused"):
        await browser["browser_open"].ainvoke({"id": 0})
    assert path not in site.seen[-3:]


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "file:///etc/passwd"]
)
async def test_private_and_non_web_targets_are_refused(browser, url: str) -> None:
    with pytest.raises(ToolException, match=r"refused|http:// or https://"):
        await browser["browser_open"].ainvoke({"id": url})


async def test_a_huge_page_is_bounded(site: WebSite, session) -> None:
    browser = tools_for(site, tools_fetch_max_bytes=50_000)
    page = await browser["browser_open"].ainvoke({"id": f"{site.base}/huge"})
    total = int(re.search(r"\] of (\d+)\*\*", page).group(1))
    assert total < 2000 and len(page) < 8000
    end = await browser["browser_open"].ainvoke({"loc": total - 1})
    assert "stopped at the 50000-byte limit" in end


async def test_plain_text_is_shown_and_binary_is_refused(browser, site: WebSite) -> None:
    text = await browser["browser_open"].ainvoke({"id": f"{site.base}/notes.txt"})
    assert "L2: line one\nL3: line two about otters" in text
    found = await browser["browser_find"].ainvoke({"pattern": "otters"})
    assert "line two about otters" in found
    with pytest.raises(ToolException, match=r"image/png .*cannot show"):
        await browser["browser_open"].ainvoke({"id": f"{site.base}/image.png"})


async def test_view_source_shows_the_markup(browser, site: WebSite) -> None:
    source = await browser["browser_open"].ainvoke({"id": f"{site.base}/kelp", "view_source": True})
    assert source.startswith(f"[0] 127.0.0.1:{site.server_address[1]} (view-source:{site.base}")
    assert "<html><head><title>Kelp forests</title>" in source


async def test_errors_are_clear_tool_errors(browser, site: WebSite) -> None:
    with pytest.raises(ToolException, match="No pages to access"):
        await browser["browser_find"].ainvoke({"pattern": "x"})
    with pytest.raises(ToolException, match="answered 404"):
        await browser["browser_open"].ainvoke({"id": f"{site.base}/missing"})
    await browser["browser_search"].ainvoke({"query": "otters"})
    with pytest.raises(ToolException, match="Cannot run `find` on search results"):
        await browser["browser_find"].ainvoke({"pattern": "otters"})
    with pytest.raises(ToolException, match=r"Cursor `5` is out of range.*\[0 - 0\]"):
        await browser["browser_open"].ainvoke({"cursor": 5})
    with pytest.raises(ToolException, match="query is empty"):
        await browser["browser_search"].ainvoke({"query": "  "})


async def test_search_service_failures_are_tool_errors(site: WebSite, session) -> None:
    site.search_status = 403
    try:
        with pytest.raises(ToolException, match=r"answered 403 \(is `json` listed"):
            await tools_for(site)["browser_search"].ainvoke({"query": "otters"})
    finally:
        site.search_status = 200
    with running_site() as gone:
        url = gone.base
    down = Settings(_env_file=None, builtin_tools="browser", browser_searxng_url=url)
    search = {t.name: t for t in browser_tools(down)}["browser_search"]
    with pytest.raises(ToolException, match="could not be reached"):
        await search.ainvoke({"query": "otters"})


async def test_page_text_cannot_forge_links_or_citations(browser, site: WebSite, session):
    page = await browser["browser_open"].ainvoke({"id": f"{site.base}/hostile"})
    assert "to=functions.write_file" in page  # shown as text, nothing more
    assert "〖0†L1-L2〗" in page and "〖9†forged†evil.example〗" in page
    assert "【9" not in page
    text, citations = linkify(page, BROWSER_SESSIONS.existing(session))
    assert citations == [] and text == page


async def test_each_session_has_its_own_pages(site: WebSite) -> None:
    browser = tools_for(site)
    with tool_session("browser-a"):
        await browser["browser_open"].ainvoke({"id": f"{site.base}/otters"})
    with tool_session("browser-b"), pytest.raises(ToolException, match="No pages to access"):
        await browser["browser_open"].ainvoke({})
    assert BROWSER_SESSIONS.existing("browser-a").citable(0)[0] == f"{site.base}/otters"
    BROWSER_SESSIONS.forget("browser-a")
    assert BROWSER_SESSIONS.existing("browser-a") is None


def test_states_are_bounded_and_dropped_when_idle() -> None:
    sessions = BrowserSessions(idle_seconds=3600, max_sessions=2)
    first = sessions.state("a")
    sessions.state("b")
    sessions.state("c")
    assert sessions.existing("a") is None and sessions.existing("c") is not None
    idle = BrowserSessions(idle_seconds=1e-9, max_sessions=10)
    idle.state("a").push(Page("http://x.example/", "X", "text", cite_url="http://x.example/"))
    assert idle.existing("a") is None
    assert first is not sessions.state("a")


def test_old_pages_let_go_of_their_text_but_stay_citable() -> None:
    state = BrowserState()
    for n in range(KEPT_PAGES + 4):
        state.push(
            Page(
                f"http://x.example/{n}",
                f"Page {n}",
                "text " * 1000,
                cite_url=f"http://x.example/{n}",
            )
        )
    assert state.citable(0) == ("http://x.example/0", "Page 0")
    with pytest.raises(ToolException, match="no longer kept; open its URL again"):
        state.page(0)
    assert state.page(KEPT_PAGES + 3).title == f"Page {KEPT_PAGES + 3}"
    kept = [entry for entry in state.stack if isinstance(entry, Page)]
    assert len(kept) == KEPT_PAGES


async def test_topn_limits_the_results_and_is_clamped(browser: dict[str, BaseTool]) -> None:
    one = await browser["browser_search"].ainvoke({"query": "otters", "topn": 1})
    assert "【0†" in one and "【1†" not in one
    many = await browser["browser_search"].ainvoke({"query": "otters", "topn": 500})
    assert "【1†Kelp forests" in many


def big_page(n: int, chars: int) -> Page:
    url = f"http://x.example/{n}"
    return Page(url, f"Page {n}", "word " * (chars // 5), cite_url=url)


def test_a_session_keeps_a_bounded_number_of_characters() -> None:
    state = BrowserState()
    for n in range(4):
        state.push(big_page(n, KEPT_CHARS_PER_SESSION * 2 // 5))
    assert state.kept_chars() <= KEPT_CHARS_PER_SESSION
    assert [type(e).__name__ for e in state.stack] == ["Visited", "Visited", "Page", "Page"]
    state.push(big_page(9, 2 * KEPT_CHARS_PER_SESSION))  # the newest page is always kept
    assert state.page().title == "Page 9" and state.kept_chars() == state.stack[-1].size


def test_all_sessions_together_keep_a_bounded_number_of_characters() -> None:
    sessions = BrowserSessions(max_chars=250_000)
    for name in "abcd":
        sessions.state(name).push(big_page(0, 100_000))
    sessions.state("e")
    kept = [name for name in "abcde" if sessions.existing(name) is not None]
    assert kept == ["c", "d", "e"]
    assert sum(sessions.existing(n).kept_chars() for n in kept) <= 250_000
