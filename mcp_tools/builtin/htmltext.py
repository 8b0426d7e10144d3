"""HTML reduced to readable text with the standard library's parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

HIDDEN_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "canvas"}
BLOCK_TAGS = {
    "p", "div", "br", "hr", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
    "section", "article", "header", "footer", "nav", "aside", "main", "table", "ul", "ol",
    "blockquote", "dd", "dt", "figcaption", "form",
}  # fmt: skip


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.hidden_depth = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        elif tag in HIDDEN_TAGS:
            self.hidden_depth += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n- " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in HIDDEN_TAGS:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.hidden_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of `html`, one block per line, with its title first."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    raw_lines = "".join(collector.parts).split("\n")
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in raw_lines)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = " ".join("".join(collector.title).split())
    return f"Title: {title}\n\n{body}" if title else body
