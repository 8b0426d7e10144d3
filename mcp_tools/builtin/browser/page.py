"""A page as the browser shows it to the model: wrapped, numbered lines and link ids.

The display follows gpt-oss's reference browser (the form the model was trained on):

    [3] Page title (https://example.com/page)
    **viewing lines [0 - 41] of 120**

    L0:
    L1: URL: https://example.com/page
    L2: Text with a link 【0†link text†other.example】 in it.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import InitVar, dataclass, field, replace
from enum import StrEnum
from urllib.parse import unquote

from langchain_core.tools import ToolException

WRAP_WIDTH = 80
VIEW_CHARS = 4000  # about the reference's 1,024-token view
TITLE_CHARS = 1024


class PageKind(StrEnum):
    WEB = "web"
    SEARCH = "search"  # a result list: its links are the results
    FIND = "find"  # matches of `find` in another page: its links go to those lines


@dataclass(frozen=True)
class Link:
    """Where link id N of a page leads, and the line to show first (find results)."""

    url: str
    line: int | None = None


@dataclass
class Page:
    """One opened page, kept as its wrapped lines (`text` is not kept). A citation of it
    links to `cite_url` (None: not citable), named `cite_title` (default: the title)."""

    url: str
    title: str
    text: InitVar[str]
    kind: PageKind = PageKind.WEB
    links: dict[int, Link] = field(default_factory=dict)
    cite_url: str | None = None
    cite_title: str | None = None
    lines: list[str] = field(init=False)
    size: int = field(init=False)
    """Characters kept, for the memory bounds (state.py)."""

    def __post_init__(self, text: str) -> None:
        self.lines = wrap_lines(text)
        self.size = sum(map(len, self.lines)) + sum(len(link.url) for link in self.links.values())

    def with_note(self, note: str) -> Page:
        """The page with `note` as a last paragraph."""
        return replace(self, text="\n".join([*self.lines, "", note]))


def wrap_lines(text: str, width: int = WRAP_WIDTH) -> list[str]:
    """Lines of at most `width` characters; empty lines are kept."""
    return list(
        itertools.chain.from_iterable(
            textwrap.wrap(line, width=width, replace_whitespace=False, drop_whitespace=False)
            if line
            else [""]
            for line in text.split("\n")
        )
    )


def clip_text(text: str, limit: int = TITLE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def view_end(lines: list[str], loc: int, num_lines: int) -> int:
    """The line after the last one shown from `loc`: `num_lines` of them, or (when not
    positive) as many as fit in VIEW_CHARS, at least one."""
    if num_lines > 0:
        return min(loc + num_lines, len(lines))
    used, end = 0, loc
    while end < len(lines):
        used += len(lines[end]) + len(f"L{end}: \n")
        if used > VIEW_CHARS and end > loc:
            break
        end += 1
    return end


def check_location(page: Page, loc: int) -> None:
    """Refuse a first line the page does not have, saying which lines it has."""
    if not 0 <= loc < len(page.lines):
        raise ToolException(
            f"Invalid location parameter: `{loc}`. "
            f"Cannot exceed page maximum of {len(page.lines) - 1}."
        )


def render(page: Page, cursor: int, loc: int = 0, num_lines: int = -1) -> str:
    """The page's view from line `loc`, headed by its cursor, title, address and scrollbar."""
    check_location(page, loc)
    total = len(page.lines)
    end = view_end(page.lines, loc, num_lines)
    body = "\n".join(f"L{n}: {page.lines[n]}" for n in range(loc, end))
    header = page.title
    if page.url and page.kind is not PageKind.SEARCH:
        header += f" ({clip_text(unquote(page.url))})"
    return f"[{cursor}] {header}\n**viewing lines [{loc} - {end - 1}] of {total - 1}**\n\n{body}"


def shown_address(rendered: str) -> str | None:
    """The address in the header of a page `render` drew (None for a result list, which
    shows none, for an address clipped to TITLE_CHARS, or for text that is not a page)."""
    first = rendered.split("\n", 1)[0]
    if not (first.startswith("[") and first.endswith(")") and " (" in first):
        return None
    address = first.rsplit(" (", 1)[1][:-1]
    return None if address.endswith("...") else address
