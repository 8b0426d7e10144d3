"""gpt-oss's citations, `【{cursor}†L{start}-L{end}】`, turned into links to the pages the
session's browser opened, as OpenAI shows web-search citations: the marker becomes
` ([domain](url))` in the text, and a `url_citation` annotation spans that link.

A marker whose cursor has no address (a search result list, an unknown cursor) is left
as it is. `CitationStream` does the same to streamed text, holding back only a possible
marker's start: the streamed pieces join to exactly `linkify` of the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .state import BrowserState

MARKER_PART = 200
CITATION = re.compile(
    rf"【(\d{{1,6}})†[^†【】\n]{{1,{MARKER_PART}}}(?:†[^†【】\n]{{0,{MARKER_PART}}})?】"
)
LONGEST_MARKER = 1 + 6 + 1 + MARKER_PART + 1 + MARKER_PART + 1


@dataclass(frozen=True)
class Citation:
    """Where a citation link is in the rewritten text, and what it links to."""

    start_index: int
    end_index: int
    url: str
    title: str

    def shifted(self, offset: int) -> Citation:
        return Citation(self.start_index + offset, self.end_index + offset, self.url, self.title)

    def annotation(self) -> dict[str, Any]:
        """The OpenAI Responses `url_citation` annotation."""
        return {
            "type": "url_citation",
            "start_index": self.start_index,
            "end_index": self.end_index,
            "url": self.url,
            "title": self.title,
        }


def markdown_link(url: str, title: str) -> str:
    """`([domain](url))`, the URL escaped so Markdown keeps it whole."""
    label = (urlsplit(url).netloc or title).replace("[", "(").replace("]", ")")
    target = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"([{label}]({target}))"


def linkify(text: str, state: BrowserState | None, before: str = "") -> tuple[str, list[Citation]]:
    """`text` with each citation of a page that has an address replaced by its link, and
    the links' places. `before` is the character that precedes `text` (for spacing)."""
    if state is None or "【" not in text:
        return text, []
    parts: list[str] = []
    citations: list[Citation] = []
    length = last = 0
    for match in CITATION.finditer(text):
        target = state.citable(int(match.group(1)))
        if target is None:
            continue
        head = text[last : match.start()]
        previous = text[match.start() - 1] if match.start() else before
        lead = " " if previous and not previous.isspace() else ""
        link = markdown_link(*target)
        start = length + len(head) + len(lead)
        citations.append(Citation(start, start + len(link), target[0], target[1]))
        parts += [head, lead, link]
        length = start + len(link)
        last = match.end()
    parts.append(text[last:])
    return "".join(parts), citations


class CitationStream:
    """Rewrites streamed text as `linkify` rewrites the whole: `feed` and `flush` return
    the rewritten text that can leave now."""

    def __init__(self, state: BrowserState | None) -> None:
        self.state = state
        self.held = ""
        self.before = ""

    def feed(self, text: str) -> str:
        self.held += text
        opening = self.held.rfind("【")
        open_marker = opening != -1 and "】" not in self.held[opening:]
        cut = opening if open_marker and len(self.held) - opening <= LONGEST_MARKER else None
        return self._release(self.held[:cut] if cut is not None else self.held)

    def flush(self) -> str:
        return self._release(self.held)

    def _release(self, piece: str) -> str:
        if not piece:
            return ""
        self.held = self.held[len(piece) :]
        rewritten, _ = linkify(piece, self.state, self.before)
        self.before = piece[-1]
        return rewritten
