"""A fetched document turned into a browser page: main content by trafilatura, links as
`【id†text†domain】` markers the model can follow with open(id=N).

Text from the page never contains a real marker: its own 【 】 become 〖 〗 (as in the
reference browser), so a page cannot forge a link or a citation.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from .page import Link, Page, PageKind, clip_text

MARKDOWN_LINK = re.compile(r"(?<![!\\])\[([^\[\]]*)(?<!\\)\]\(((?:[^()\s]|\([^()\s]*\))+)\)")
MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: backslash + ASCII punctuation
LINK_TEXT_CHARS = 200


def neutralized(text: str) -> str:
    """Page text with the characters of link and citation markers replaced by look-alikes."""
    return text.replace("【", "〖").replace("】", "〗").replace("\u200b", "")


def domain_of(url: str) -> str:
    return urlsplit(url).netloc


def html_page(html: str, url: str) -> Page:
    """The page's main content as Markdown-like text, its links numbered."""
    # Imported on first use: it takes about half a second, and most processes never browse.
    import trafilatura
    from trafilatura.metadata import extract_metadata

    markdown = trafilatura.extract(
        html,
        url=url,
        output_format="txt",
        include_formatting=True,  # Markdown headings, lists, emphasis; escapes undone below
        include_links=True,
        include_tables=True,
        include_comments=False,
        favor_recall=True,
        deduplicate=True,
    )
    metadata = extract_metadata(html, default_url=url)
    title = neutralized(metadata.title) if metadata and metadata.title else domain_of(url) or url
    text, links = numbered_links(neutralized(markdown or ""), url)
    text = MARKDOWN_ESCAPE.sub(r"\1", text)  # the model reads text, not Markdown source
    return web_page(url, title, text or "(no readable text on this page)", links)


def text_page(text: str, url: str) -> Page:
    """A plain-text document (text/plain, JSON, XML, source) as it is."""
    return web_page(url, domain_of(url) or url, neutralized(text), {})


def web_page(url: str, title: str, text: str, links: dict[int, Link]) -> Page:
    body = f"\nURL: {url}\n{text}"  # the reference's page head: an empty line, then the URL
    return Page(url, clip_text(title.strip()), body, PageKind.WEB, links, cite_url=url)


def numbered_links(markdown: str, page_url: str) -> tuple[str, dict[int, Link]]:
    """`[text](url)` links replaced by `【id†text】` (same site) or `【id†text†domain】`;
    the same address keeps one id."""
    links: dict[int, Link] = {}
    ids: dict[str, int] = {}
    home = domain_of(page_url)

    def replace(match: re.Match[str]) -> str:
        text = " ".join(match.group(1).replace("†", "‡").split())[:LINK_TEXT_CHARS]
        target = urljoin(page_url, MARKDOWN_ESCAPE.sub(r"\1", match.group(2)))
        if not text or urlsplit(target).scheme not in ("http", "https"):
            return text
        if target not in ids:
            ids[target] = len(links)
            links[ids[target]] = Link(target)
        domain = domain_of(target)
        suffix = "" if domain == home else f"†{domain}"
        return f"【{ids[target]}†{text}{suffix}】"

    return MARKDOWN_LINK.sub(replace, markdown), links
