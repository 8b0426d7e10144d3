"""The docs' generated tables show the code's text as written (docs/hooks/generated.py)."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import markdown
from hypothesis import given
from hypothesis import strategies as st

HOOK = Path(__file__).resolve().parents[2] / "docs" / "hooks" / "generated.py"
_spec = importlib.util.spec_from_file_location("docs_generated", HOOK)
generated = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generated)

# What a description, a help text or a docstring may hold: printable text without backticks
# (a code span is Markdown on purpose and shown as code).
TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="`"), max_size=80
)


def _shown(cell: str) -> str:
    """The text a reader sees in the one cell of a rendered one-row table."""
    page = markdown.markdown(f"| a |\n|---|\n| {cell} |", extensions=["tables"])
    body = re.search(r"<td>(.*?)</td>", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", body.group(1) if body else ""))


@given(TEXT)
def test_a_cell_shows_the_text_as_written(text: str) -> None:
    assert _shown(generated._cell(text)) == " ".join(text.split())


def test_code_spans_stay_code() -> None:
    cell = generated._cell("see `a|b` and <API_KEY>")
    assert "`a|b`" in cell and _shown(cell) == "see a|b and <API_KEY>"


def test_an_unknown_marker_fails_the_build() -> None:
    try:
        generated.on_page_markdown("<!-- generated: nothing -->\n")
    except ValueError as error:
        assert "nothing" in str(error)
    else:
        raise AssertionError("an unknown generated block was accepted")
