"""Turning an address into a browser page: fetched through http_fetch's guarded Fetcher
(every hop checked by netguard), then HTML reduced to its main content, text kept as it is."""

from __future__ import annotations

import asyncio

from langchain_core.tools import ToolException

from ..fetch import Fetcher, decoded_body, mime_type
from ..fetch import Page as Download
from .extract import html_page, text_page
from .page import Page

VIEW_SOURCE = "view-source:"


async def load(fetcher: Fetcher, url: str, view_source: bool = False) -> Page:
    """The page at `url` (its source as plain text when `view_source`)."""
    download = await fetcher.fetch(url)
    status = int(download.status.split()[0])
    if status >= 400:
        raise ToolException(f"Error fetching URL `{url}`: the server answered {download.status}")
    text = decoded_body(download)
    if text is None:
        raise ToolException(
            f"`{url}` is {mime_type(download) or 'binary content'} ({len(download.body)} bytes),"
            " which the browser cannot show; open a web page or a text document instead"
        )
    shown_url = str(download.url.copy_with(username=None, password=None))
    if view_source:
        page = text_page(text, shown_url)
        page.url = VIEW_SOURCE + shown_url
    elif "html" in mime_type(download) or (not mime_type(download) and "<html" in text[:2000]):
        page = await asyncio.to_thread(html_page, text, shown_url)
    else:
        page = text_page(text, shown_url)
    return _noted_if_cut(page, download)


def _noted_if_cut(page: Page, download: Download) -> Page:
    if not download.cut:
        return page
    note = f"(the download stopped at the {len(download.body)}-byte limit; the rest is not shown)"
    return page.with_note(note)
