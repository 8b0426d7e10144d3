"""Streaming equals full parse, for every dialect, however the text is split.

Checked three ways: a split at every character (two deltas), one character per delta,
and random splits drawn by hypothesis, on sample outputs and on random text built from
markup fragments. Accumulated deltas and `result()` must both equal `parse()`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.parsing import Parsed, accumulate, dialect_names, get_dialect

CORPUS = Path(__file__).parents[1] / "data" / "corpus.jsonl"
TOOLS = ["get_weather", "get_time", "shell"]

SAMPLES = {
    "harmony": [
        "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
        'commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>',
        "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant to=functions.get_time"
        '<|channel|>commentary json<|message|>{"tz":"<|call|>"}<|call|><|start|>assistant'
        "<|channel|>final<|message|>It is noon.<|return|>",
        "analysisThe assistant thinks.assistantcommentary to=functions.shell json"
        '{"cmd":"ls"}assistantfinalDone.',
        'assistant to=functions.get_weathercommentary json{"city":"Rome"}',
        ' to=functions.shell<|channel|>commentary json<|message|>{"cmd":"ls"}<|call|>',
        "finally, the answer is 4",
        "<|channel|>analysis I must refuse<|end|><|start|>assistant<|channel|>final<|message|>No",
        "<|channel|>commentary to=functions.shell<|message|>ls -R\n<|call|>trailing <|st",
        "plain answer with a < and <| and assistant word",
    ],
    "hermes": [
        'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "x"}}\n</tool_call>',
        '<think>hmm {"a": 1}</think><tool_call>{"name": "a", "arguments": {"s": "</tool_call>"}}',
        '<tool_call>\nshell\n{"cmd": "ls"}\n</tool_call> after ```json\n{"name": "get_time", '
        '"arguments": {}}\n```',
        "text <tool_ca",
    ],
    "json": [
        'Here: ```json\n{"name": "get_weather", "parameters": {"city": "x"}}\n``` ok',
        '[{"name": "get_time", "arguments": {}}, {"name": "shell", "arguments": {"cmd": "a"}}]',
        '{"name": "Paris", "size": 2} and {x} [y] `z` ``` and <reasoning>r</reasoning>',
        '{"name": "get_weather", "arguments": {"city": "Pa',
    ],
}
SAMPLES["auto"] = [
    *SAMPLES["harmony"],
    *SAMPLES["hermes"],
    *SAMPLES["json"],
    "Reasoning first.</think>Then the answer.",
    "Sure, let me look that up for you now. <|start|>assistant<|channel|>commentary"
    ' to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>',
]

FRAGMENTS = [
    "<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|call|>", "<|return|>",
    "<|constrain|>", "assistant", "analysis", "commentary", "final", " to=", "functions.",
    "get_weather", "json", " ", "\n", "{", "}", "[", "]", '"', "\\", ":", ",", "a", "Hi",
    "<tool_call>", "</tool_call>", "<think>", "</think>", "<reasoning>", "</reasoning>",
    "```", "`", "<", "|", '{"name": "get_time", "arguments": {}}', '"city"', "x<|call|>y",
]  # fmt: skip


def corpus_texts() -> list[str]:
    texts = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["surface"] in ("raw", "content", "tool_call"):
            texts.append(record["input"])
    return texts


def stream_parse(dialect: str, parts: list[str]) -> tuple[Parsed, Parsed]:
    """(accumulated deltas, result()) after feeding `parts` and closing."""
    stream = get_dialect(dialect).stream(TOOLS)
    deltas = [stream.feed(part) for part in parts]
    deltas.append(stream.close())
    assert not getattr(stream, "failed", False), "parser fell back to pass-through"
    return accumulate(deltas), stream.result()


def assert_stream_matches(dialect: str, text: str, parts: list[str]) -> None:
    expected = get_dialect(dialect).parse(text, TOOLS)
    accumulated, result = stream_parse(dialect, parts)
    assert result == expected, parts
    assert accumulated == expected, parts


ALL_SAMPLES = [(d, t) for d in dialect_names() for t in SAMPLES[d] + corpus_texts()]


@pytest.mark.parametrize(("dialect", "text"), ALL_SAMPLES)
def test_split_at_every_character(dialect: str, text: str) -> None:
    for cut in range(len(text) + 1):
        assert_stream_matches(dialect, text, [text[:cut], text[cut:]])


@pytest.mark.parametrize(("dialect", "text"), ALL_SAMPLES)
def test_one_character_per_delta(dialect: str, text: str) -> None:
    assert_stream_matches(dialect, text, list(text))


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(ALL_SAMPLES),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_random_splits_of_samples(sample: tuple[str, str], cuts: list[int]) -> None:
    dialect, text = sample
    assert_stream_matches(dialect, text, split_at(text, cuts))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dialect=st.sampled_from(dialect_names()),
    pieces=st.lists(st.sampled_from(FRAGMENTS), max_size=25),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=10),
)
def test_random_markup_never_breaks_equivalence(
    dialect: str, pieces: list[str], cuts: list[int]
) -> None:
    text = "".join(pieces)
    assert_stream_matches(dialect, text, split_at(text, cuts))


@settings(max_examples=150, deadline=None)
@given(dialect=st.sampled_from(dialect_names()), text=st.text(max_size=60))
def test_arbitrary_text_never_raises(dialect: str, text: str) -> None:
    assert_stream_matches(dialect, text, list(text))


@pytest.mark.parametrize("dialect", dialect_names())
def test_no_markup_reaches_content_or_reasoning(dialect: str) -> None:
    text = SAMPLES[dialect][0]
    accumulated, _ = stream_parse(dialect, list(text))
    for field in (accumulated.content or "", accumulated.reasoning or ""):
        assert "<|" not in field
        assert "<tool_call>" not in field
