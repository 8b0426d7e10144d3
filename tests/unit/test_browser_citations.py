"""Citations become links the same way whole and streamed: any text, any chunking."""

from __future__ import annotations

import itertools
import re
from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from graph.turn import CITATIONS, turn_outcome
from mcp_tools.builtin.browser.citations import CitationStream, linkify, markdown_link
from mcp_tools.builtin.browser.extract import html_page
from mcp_tools.builtin.browser.page import Page, PageKind
from mcp_tools.builtin.browser.state import BrowserState


def browser() -> BrowserState:
    """Cursor 0 a result list (not citable), 1 and 2 web pages (one with odd URL chars)."""
    state = BrowserState()
    state.push(Page("", "query", "results", PageKind.SEARCH))
    state.push(Page("https://a.example/x", "Page A", "text", cite_url="https://a.example/x"))
    odd = "https://b.example/w(iki) page"
    state.push(Page(odd, "Page [B]", "text", cite_url=odd))
    return state


pieces = st.sampled_from(
    [
        "【1†L2-L4】",
        "【2†L9】",
        "【0†L1】",
        "【7†L1】",
        "【1†",
        "】",
        "【",
        "†",
        "L3",
        "x",
        " ",
        "\n",
        "。",
    ]
)
texts = st.lists(st.one_of(pieces, st.text(max_size=5)), max_size=30).map("".join)


@given(texts, st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_streamed_pieces_join_to_the_whole_rewrite(text: str, cuts: list[int]) -> None:
    state = browser()
    sent: list[str] = []
    stream = CitationStream(state)
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    for start, end in itertools.pairwise(bounds):
        sent.append(stream.feed(text[start:end]))
    sent.append(stream.flush())
    whole, citations = linkify(text, state)
    assert "".join(sent) == whole
    for citation in citations:
        assert whole[citation.start_index : citation.end_index] == markdown_link(
            citation.url, citation.title
        )


def test_markers_become_links_and_unknown_cursors_stay() -> None:
    text, citations = linkify("A【1†L2-L4】, B 【2†L9】 and C【0†L1】【5†L1】.", browser())
    assert text == (
        "A ([a.example](https://a.example/x)), B ([b.example](https://b.example/w%28iki%29%20page))"
        " and C【0†L1】【5†L1】."
    )
    assert [(c.url, c.title) for c in citations] == [
        ("https://a.example/x", "Page A"),
        ("https://b.example/w(iki) page", "Page [B]"),
    ]


def test_a_turn_joins_its_steps_annotations_at_their_places() -> None:
    first, notes_1 = linkify("Step one【1†L1】.", browser())
    second, notes_2 = linkify("Then【2†L2】.", browser())
    replies = [
        AIMessage(content=first, additional_kwargs={CITATIONS: [n.annotation() for n in notes_1]}),
        AIMessage(content=""),
        AIMessage(content=second, additional_kwargs={CITATIONS: [n.annotation() for n in notes_2]}),
    ]
    outcome = turn_outcome({"messages": replies}, 0)
    assert outcome.content == f"{first}\n\n{second}"
    spans = [outcome.content[a["start_index"] : a["end_index"]] for a in outcome.annotations]
    assert spans == [markdown_link(n.url, n.title) for n in notes_1 + notes_2]
    assert {a["type"] for a in outcome.annotations} == {"url_citation"}


page_text = st.text(alphabet="ab 【】†[]()/:.#\n<>", max_size=120)


@settings(deadline=None)  # the first call imports trafilatura
@given(page_text, page_text)
def test_a_page_cannot_forge_a_link_or_a_citation(first: str, second: str) -> None:
    """Whatever a page's text holds, the only markers in its view are the browser's own
    links (ids it gave out), and no citation of them can come from the page."""
    html = (
        f"<html><body><article><p>{escape(first)}</p>"
        f'<p>See <a href="/next">{escape(second)} next</a>.</p></article></body></html>'
    )
    page = html_page(html, "http://site.example/page")
    markers = re.findall(r"【[^【】]*】", "\n".join(page.lines).replace("\n", ""))
    for marker in markers:
        match = re.fullmatch(r"【(\d+)†[^†【】]+】", marker)
        assert match and int(match.group(1)) in page.links, marker
