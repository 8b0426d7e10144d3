"""A model step's text on the live stream (graph/live_events.py `StepText`): each read's
deltas leave, in order, as one event per run of one kind, written as the read is given;
a later step's first text in a turn starts with the turn's separator."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from graph.live_events import StepText
from graph.turn import STEP_SEPARATOR

deltas = st.tuples(st.sampled_from(["content", "reasoning"]), st.text(min_size=1, max_size=5))
reads = st.lists(st.lists(deltas, min_size=1, max_size=6), min_size=1, max_size=8)


def runs(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive deltas of one kind as one."""
    joined: list[tuple[str, str]] = []
    for kind, text in items:
        if joined and joined[-1][0] == kind:
            joined[-1] = (kind, joined[-1][1] + text)
        else:
            joined.append((kind, text))
    return joined


@given(reads)
def test_each_read_leaves_at_once_as_its_runs_of_one_kind(per_read: list) -> None:
    written: list[dict[str, Any]] = []
    text = StepText(written.append, [], None)
    expected: list[dict[str, Any]] = []
    for read in per_read:
        text.write(read)
        expected += [{"kind": kind, "text": joined} for kind, joined in runs(read)]
        assert written == expected  # written when its read was given, not later
    text.flush()
    assert written == expected


def test_a_later_step_starts_with_the_separator_once_per_kind() -> None:
    written: list[dict[str, Any]] = []
    earlier = [AIMessage("first", additional_kwargs={"reasoning": "thought"})]
    text = StepText(written.append, earlier, None)
    text.write([("reasoning", "more"), ("content", "a")])
    text.write([("content", "b")])
    assert written == [
        {"kind": "reasoning", "text": STEP_SEPARATOR["reasoning"] + "more"},
        {"kind": "content", "text": STEP_SEPARATOR["content"] + "a"},
        {"kind": "content", "text": "b"},
    ]
