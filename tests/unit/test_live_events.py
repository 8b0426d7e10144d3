"""Live events beside LangGraph's stream (graph/live_events.py), on a real LangGraph graph:
every event a node writes arrives, in order, before the state that follows it; without the
sink the same writes go to LangGraph's custom stream; closing early cancels the run and
waits for its cleanup; a node's failure reaches the reader."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.graph import END, START, StateGraph

from graph.live_events import LIVE, live_writer, with_live_events


class Steps(TypedDict):
    done: Annotated[list[int], operator.add]


def graph_writing(per_step: list[list[str]], pause: float = 0.0, cleanup: list[str] | None = None):
    """A chain of nodes, node i writing per_step[i] as live events (yielding to the loop
    between them), then recording i in the state."""
    builder = StateGraph(Steps)
    previous = START
    for index, texts in enumerate(per_step):

        async def node(
            state: Steps, index: int = index, texts: list[str] = texts
        ) -> dict[str, Any]:
            write = live_writer()
            try:
                for text in texts:
                    write({"step": index, "text": text})
                    await asyncio.sleep(pause)
            finally:
                if cleanup is not None:
                    cleanup.append(f"node {index} ended")
            return {"done": [index]}

        builder.add_node(f"n{index}", node)
        builder.add_edge(previous, f"n{index}")
        previous = f"n{index}"
    builder.add_edge(previous, END)
    return builder.compile()


def expected(per_step: list[list[str]]) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = [("values", {"done": []})]
    for index, texts in enumerate(per_step):
        items += [(LIVE, {"step": index, "text": text}) for text in texts]
        items.append(("values", {"done": list(range(index + 1))}))
    return items


steps = st.lists(st.lists(st.text(max_size=3), max_size=5), min_size=1, max_size=4)


async def through_the_sink(graph: Any) -> list[tuple[str, Any]]:
    items = graph.astream({"done": []}, stream_mode=["values"])
    return [item async for item in with_live_events(items)]


async def through_langgraphs_custom_mode(graph: Any) -> list[tuple[str, Any]]:
    """Without the sink (Studio, `langgraph dev`)."""
    return [item async for item in graph.astream({"done": []}, stream_mode=["values", LIVE])]


@pytest.mark.parametrize("read", [through_the_sink, through_langgraphs_custom_mode])
@settings(max_examples=30, deadline=None)
@given(steps)
def test_every_live_event_arrives_in_order_before_the_state_after_it(
    read: Any, per_step: list[list[str]]
) -> None:
    assert asyncio.run(read(graph_writing(per_step))) == expected(per_step)


def test_closing_early_cancels_the_run_and_waits_for_its_cleanup() -> None:
    cleanup: list[str] = []

    async def read_two() -> list[tuple[str, Any]]:
        graph = graph_writing([["a", "b", "c", "d"]], pause=0.05, cleanup=cleanup)
        stream = with_live_events(graph.astream({"done": []}, stream_mode=["values"]))
        seen = [await anext(stream), await anext(stream)]
        await stream.aclose()
        assert cleanup == ["node 0 ended"], "aclose returned before the node was stopped"
        return seen

    seen = asyncio.run(read_two())
    assert seen == [("values", {"done": []}), (LIVE, {"step": 0, "text": "a"})]


def test_a_node_failure_reaches_the_reader() -> None:
    builder = StateGraph(Steps)

    async def failing(state: Steps) -> dict[str, Any]:
        live_writer()({"text": "before"})
        raise RuntimeError("node failed")

    builder.add_node("failing", failing)
    builder.add_edge(START, "failing")
    graph = builder.compile()

    async def read(seen: list[tuple[str, Any]]) -> None:
        async for item in with_live_events(graph.astream({"done": []}, stream_mode=["values"])):
            seen.append(item)

    seen: list[tuple[str, Any]] = []
    with pytest.raises(RuntimeError, match="node failed"):
        asyncio.run(read(seen))
    assert seen[-1] == (LIVE, {"text": "before"})
