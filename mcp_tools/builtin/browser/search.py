"""browser.search through a pluggable backend, its results shown as the reference browser
shows a result page: one numbered link per result, its snippet after it.

SEARXNG asks a self-hosted SearXNG's JSON API (its address is the operator's, so it is
not checked against the fetch guard); DDGS uses the `ddgs` metasearch library (no key, no
server, but the internet).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from langchain_core.tools import ToolException

from agent.settings import SearchBackend

from .extract import domain_of, neutralized
from .page import Link, Page, PageKind, clip_text

SEARCH_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
SNIPPET_CHARS = 400
MAX_RESULTS = 20


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str


class Searcher(Protocol):
    """A search backend: the results for `query`, at most `count`."""

    name: str

    async def search(self, query: str, count: int) -> list[SearchResult]: ...


class SearxngSearcher:
    """SearXNG's `/search?format=json` (the instance must allow the json format)."""

    name = "searxng"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def search(self, query: str, count: int) -> list[SearchResult]:
        params = {"q": query, "format": "json"}
        try:
            async with httpx.AsyncClient(trust_env=False, timeout=SEARCH_TIMEOUT) as client:
                response = await client.get(f"{self.base_url}/search", params=params)
        except httpx.HTTPError as error:
            raise ToolException(
                f"the search service (SearXNG at {self.base_url}) could not be reached: "
                f"{type(error).__name__}. Answer without searching, or tell the user."
            ) from None
        if response.status_code != 200:
            hint = (
                " (is `json` listed under search.formats?)" if response.status_code == 403 else ""
            )
            raise ToolException(
                f"the search service (SearXNG) answered {response.status_code}{hint}"
            )
        try:
            results = response.json().get("results") or []
        except (ValueError, AttributeError):
            raise ToolException(
                "the search service (SearXNG) did not answer with JSON; its settings.yml must"
                " list `json` under search.formats"
            ) from None
        return [
            SearchResult(str(r.get("title") or ""), str(r["url"]), str(r.get("content") or ""))
            for r in results[:count]
            if isinstance(r, dict) and r.get("url")
        ]


TextSearch = Callable[..., list[dict[str, Any]]]


def ddgs_text_search(query: str, max_results: int) -> list[dict[str, Any]]:
    """`ddgs`' own text search (imported on use: only this backend needs it)."""
    from ddgs import DDGS

    return DDGS().text(query, max_results=max_results)


class DdgsSearcher:
    """The `ddgs` library's text search (it runs blocking requests: off the event loop)."""

    name = "ddgs"

    def __init__(self, text_search: TextSearch = ddgs_text_search) -> None:
        self.text_search = text_search

    async def search(self, query: str, count: int) -> list[SearchResult]:
        from ddgs.exceptions import DDGSException

        try:
            found = await asyncio.to_thread(self.text_search, query, max_results=count)
        except DDGSException as error:
            raise ToolException(
                f"the search (ddgs) failed: {error}. Answer without searching, or tell the user."
            ) from None
        return [
            SearchResult(str(r.get("title") or ""), str(r["href"]), str(r.get("body") or ""))
            for r in found or []
            if r.get("href")
        ]


def searcher_for(backend: SearchBackend, searxng_url: str) -> Searcher:
    """The backend BROWSER_SEARCH_BACKEND names."""
    if backend is SearchBackend.DDGS:
        return DdgsSearcher()
    return SearxngSearcher(searxng_url)


def results_page(query: str, results: list[SearchResult]) -> Page:
    """The result list as a page: `* 【N†title†domain】 snippet` lines, link N the result."""
    lines = ["", "URL: ", "# Search Results", ""]
    links: dict[int, Link] = {}
    for result in results:
        number = len(links)
        links[number] = Link(result.url)
        title = " ".join(neutralized(result.title).replace("†", "‡").split()) or result.url
        snippet = " ".join(neutralized(result.snippet).split())
        marker = f"【{number}†{clip_text(title, 200)}†{domain_of(result.url)}】"
        lines.append(f"  * {marker} {clip_text(snippet, SNIPPET_CHARS)}".rstrip())
    if not results:
        lines.append(f"No results for `{neutralized(query)}`.")
    title = clip_text(neutralized(query), 200)
    return Page("", title, "\n".join(lines), PageKind.SEARCH, links)
