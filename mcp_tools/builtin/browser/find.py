"""browser.find: the lines of a page that contain a text, as a page of matches whose link
N opens the page at match N (the reference browser's `find`)."""

from __future__ import annotations

import re
from urllib.parse import quote

from .extract import neutralized
from .page import Link, Page, PageKind, shown_address

LINK_MARKER = re.compile(r"【\d+†([^†】]+)(?:†[^†】]+)?】")
MAX_MATCHES = 50
LINES_PER_MATCH = 4
FIND_SUFFIX = "/find?pattern="


def without_links(text: str) -> str:
    """Link markers reduced to their text, so a pattern matches what a reader sees."""
    return LINK_MARKER.sub(lambda m: m.group(1), text)


def find_page(page: Page, pattern: str) -> Page:
    """The matches of `pattern` (case ignored) in `page`, LINES_PER_MATCH lines each."""
    lines = without_links("\n".join(page.lines)).split("\n")
    wanted = pattern.lower()
    chunks: list[str] = []
    links: dict[int, Link] = {}
    index = 0
    while index < len(lines) and len(chunks) < MAX_MATCHES:
        if wanted not in lines[index].lower():
            index += 1
            continue
        number = len(chunks)
        snippet = "\n".join(lines[index : index + LINES_PER_MATCH])
        chunks.append(f"# 【{number}†match at L{index}】\n{snippet}")
        links[number] = Link(page.url, line=index)
        index += LINES_PER_MATCH
    shown = neutralized(pattern)
    text = "\n\n".join(chunks) if chunks else f"No `find` results for pattern: `{shown}`"
    return Page(
        url=f"{page.url}{FIND_SUFFIX}{quote(pattern)}",
        title=f"Find results for text: `{shown}` in `{page.title}`",
        text=text,
        kind=PageKind.FIND,
        links=links,
        cite_url=page.cite_url,
        cite_title=page.cite_title or page.title,
    )


def searched_address(rendered: str) -> str | None:
    """The address of the page a rendered find result searched."""
    shown = shown_address(rendered)
    return shown.rsplit(FIND_SUFFIX, 1)[0] if shown else None
