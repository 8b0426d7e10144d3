"""Deltas joined per event-loop tick (graph/joined_deltas.py): every delta arrives, in order,
the same text; a lone delta leaves when its tick ends; a tick's deltas leave as one event
per run of one kind."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from graph.live_events import JoinedDeltas

deltas = st.tuples(st.sampled_from(["content", "reasoning"]), st.text(min_size=1, max_size=5))
ticks = st.lists(st.lists(deltas, min_size=1, max_size=6), min_size=1, max_size=8)


def runs(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive deltas of one kind as one."""
    joined: list[tuple[str, str]] = []
    for kind, text in items:
        if joined and joined[-1][0] == kind:
            joined[-1] = (kind, joined[-1][1] + text)
        else:
            joined.append((kind, text))
    return joined


async def written_per_tick(per_tick: list[list[tuple[str, str]]]) -> list[list[dict[str, Any]]]:
    """What was written by the end of each tick (the last list: after `flush`)."""
    written: list[dict[str, Any]] = []
    joiner = JoinedDeltas(written.append)
    seen = []
    for tick in per_tick:
        for kind, text in tick:
            joiner(kind, text)
        await asyncio.sleep(0)  # the tick ends
        seen.append(list(written))
    joiner.flush()
    seen.append(list(written))
    return seen


@given(ticks)
def test_each_tick_leaves_as_its_runs_of_one_kind_and_nothing_is_lost(
    per_tick: list[list[tuple[str, str]]],
) -> None:
    seen = asyncio.run(written_per_tick(per_tick))
    expected: list[dict[str, Any]] = []
    for tick, by_then in zip(per_tick, seen, strict=False):
        expected += [{"kind": kind, "text": text} for kind, text in runs(tick)]
        assert by_then == expected  # written when its tick ended, not later
    assert seen[-1] == expected
    sent = [(e["kind"], e["text"]) for e in seen[-1]]
    assert runs(sent) == runs([d for tick in per_tick for d in tick])


def test_flush_writes_what_is_held_at_once_and_the_tick_end_adds_nothing() -> None:
    async def run() -> list[dict[str, Any]]:
        written: list[dict[str, Any]] = []
        joiner = JoinedDeltas(written.append)
        joiner("content", "a")
        joiner("content", "b")
        joiner.flush()
        assert written == [{"kind": "content", "text": "ab"}]
        await asyncio.sleep(0)
        return written

    assert asyncio.run(run()) == [{"kind": "content", "text": "ab"}]
