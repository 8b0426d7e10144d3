"""The trimming rule: the newest whole turns that fit, the current turn always."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.errors import AgentError
from agent.llm.context_window import DEFAULT_CONTEXT_WINDOW, message_tokens
from agent.settings import Settings
from graph.deps import AgentDeps
from graph.history_fit import Costs, context_window, first_kept
from tests.upstream_sim.fixtures import SimServer


def _turn(index: int, text: str, calls: int) -> list[BaseMessage]:
    ids = [f"c{index}_{n}" for n in range(calls)]
    turn: list[BaseMessage] = [HumanMessage(content=f"{index} {text}")]
    if calls:
        tool_calls = [{"name": "t", "args": {"x": text}, "id": i} for i in ids]
        turn.append(AIMessage(content="", tool_calls=tool_calls))
        turn += [ToolMessage(content=text * 2, tool_call_id=i) for i in ids]
    turn.append(AIMessage(content=f"answer {text}"))
    return turn


turns = st.lists(st.tuples(st.text(max_size=200), st.integers(0, 3)), min_size=1, max_size=12)


@given(turns, st.integers(50, 3000))
def test_what_is_kept_fits_and_is_whole_turns(spec: list, room: int) -> None:
    messages = [m for i, (text, calls) in enumerate(spec) for m in _turn(i, text, calls)]
    costs = Costs.of(messages)
    try:
        start = first_kept(costs, room)
    except AgentError as exc:
        assert exc.code == "context_length_exceeded"
        assert costs.tail(costs.starts[-1]) > room  # only when the current turn cannot fit
        return
    kept = messages[start:]
    assert sum(message_tokens(m) for m in kept) <= room
    assert isinstance(kept[0], HumanMessage)  # a turn's start: calls travel with results
    assert start <= costs.starts[-1]  # the current turn is always sent
    if start:  # nothing more could have been kept
        earlier = max(s for s in costs.starts if s < start)
        assert costs.tail(earlier) > room


def test_a_single_message_too_big_is_named() -> None:
    messages = [HumanMessage(content=" ".join(f"word{i}" for i in range(1000)))]
    with pytest.raises(AgentError, match="A single message") as caught:
        first_kept(Costs.of(messages), 500)
    assert caught.value.code == "context_length_exceeded"


async def _windows(base_url: str, *configured: int | None) -> list[int]:
    windows = []
    for limit in configured:
        settings = Settings(
            _env_file=None, llm_base_url=base_url, llm_max_retries=0, context_window=limit
        )
        deps = AgentDeps.create(settings)
        try:
            windows.append(await context_window(deps, None))
        finally:
            await deps.backends.aclose()
    return windows


def test_the_window_is_read_from_the_server(sim: SimServer) -> None:
    assert asyncio.run(_windows(sim.base_url, None, 4096)) == [131072, 4096]


def test_an_unreachable_server_gets_the_default() -> None:
    windows = asyncio.run(_windows("http://127.0.0.1:9/v1", None))
    assert windows == [DEFAULT_CONTEXT_WINDOW]
