"""A session's messages as rows (graph/store/history_rows.py), on real SQLite and Postgres stores
driven by a real LangGraph graph: whatever happens to a history (messages added in turns or
outside them, replaced, removed, the store reopened as another process would), it reads
back as it was last stored; a turn writes only its new rows; a replaced history leaves no
old rows behind; rows of a commit that never finished are never read."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypedDict

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, RemoveMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from graph.store import SessionStore, open_store
from graph.store.history_rows import MESSAGES, ROWS_KEY
from tests.integration.test_postgres import shared_store


class _State(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


def _graph(store: SessionStore) -> Any:
    builder = StateGraph(_State)
    builder.add_node("step", lambda state: {})
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile(checkpointer=store.checkpointer)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with shared_store(request.param, tmp_path_factory) as url:
        yield url


def _generations(url: str, thread: str) -> dict[str, int]:
    """Rows per generation of the thread, read straight from the database."""
    query = "SELECT generation, count(*) FROM session_messages WHERE thread_id = {} GROUP BY 1"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return dict(conn.execute(query.format("?"), (thread,)).fetchall())
    with psycopg.connect(url) as conn:
        return dict(conn.execute(query.format("%s"), (thread,)).fetchall())


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[tuple[SessionStore, Any]]:
    async with open_store(url) as store:
        yield store, _graph(store)


async def _stored(graph: Any, thread: str) -> list[tuple[str, str]]:
    state = await graph.aget_state({"configurable": {"thread_id": thread}})
    return [(m.id, m.content) for m in state.values.get(MESSAGES, [])]


async def _turn(store: SessionStore, graph: Any, thread: str, new: list[BaseMessage]) -> None:
    async with store.checkpointer.turn(thread) as config:
        await graph.ainvoke({MESSAGES: new}, config, durability="exit")
        await store.checkpointer.commit(config, {"turn": len(new)})


def _human(text: str) -> HumanMessage:
    return HumanMessage(content=text, id=uuid.uuid4().hex)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("turn"), st.integers(1, 4)),
        st.tuples(st.just("update"), st.integers(1, 3)),
        st.tuples(st.just("replace"), st.integers(0, 50)),
        st.tuples(st.just("remove"), st.integers(0, 50)),
        st.tuples(st.just("reopen"), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_a_history_reads_back_as_last_stored_whatever_happened_to_it(
    database_url: str, ops: list[tuple[str, int]]
) -> None:
    asyncio.run(_check_history(database_url, ops))


async def _check_history(url: str, ops: list[tuple[str, int]]) -> None:
    thread = uuid.uuid4().hex
    expected: list[tuple[str, str]] = []
    store_cm = _opened(url)
    store, graph = await store_cm.__aenter__()
    try:
        for step, (op, n) in enumerate(ops):
            if op == "reopen":  # another process, knowing nothing of the session
                await store_cm.__aexit__(None, None, None)
                store_cm = _opened(url)
                store, graph = await store_cm.__aenter__()
            elif op in ("turn", "update"):
                new = [_human(f"{step}.{i}") for i in range(n)]
                if op == "turn":
                    await _turn(store, graph, thread, new)
                else:
                    await graph.aupdate_state(
                        {"configurable": {"thread_id": thread}}, {MESSAGES: new}
                    )
                expected += [(m.id, m.content) for m in new]
            elif expected and op == "replace":
                index = n % len(expected)
                message_id = expected[index][0]
                change = AIMessage(content=f"replaced at {step}", id=message_id)
                await graph.aupdate_state(
                    {"configurable": {"thread_id": thread}}, {MESSAGES: [change]}
                )
                expected[index] = (message_id, change.content)
            elif expected and op == "remove":
                message_id = expected.pop(n % len(expected))[0]
                removal = RemoveMessage(id=message_id)
                await graph.aupdate_state(
                    {"configurable": {"thread_id": thread}}, {MESSAGES: [removal]}
                )
            else:
                continue
            assert await _stored(graph, thread) == expected
            generations = list(_generations(url, thread).values())
            assert generations == ([len(expected)] if expected else []), generations
        async with _opened(url) as (_, other):
            assert await _stored(other, thread) == expected
    finally:
        await store_cm.__aexit__(None, None, None)


def test_turns_append_to_one_generation_and_deleting_the_session_frees_its_rows(
    database_url: str,
) -> None:
    async def run() -> None:
        thread = uuid.uuid4().hex
        async with _opened(database_url) as (store, graph):
            for turn in range(5):
                await _turn(store, graph, thread, [_human(f"turn {turn}")])
                generations = _generations(database_url, thread)
                assert list(generations.values()) == [turn + 1], generations
                if turn == 0:
                    first = next(iter(generations))
                assert next(iter(generations)) == first  # appended, never rewritten
            latest = await store.checkpointer.inner.aget_tuple(
                {"configurable": {"thread_id": thread}}
            )
            assert latest.checkpoint["channel_values"][MESSAGES] == {ROWS_KEY: [first, 5]}
            await store.checkpointer.adelete_thread(thread)
            assert _generations(database_url, thread) == {}

    asyncio.run(run())


def test_rows_of_a_commit_that_never_finished_are_never_read(database_url: str) -> None:
    async def run() -> None:
        thread = uuid.uuid4().hex
        async with _opened(database_url) as (store, graph):
            await _turn(store, graph, thread, [_human("kept")])
            saver = store.checkpointer
            latest = await saver.aget_tuple({"configurable": {"thread_id": thread}})
            # what a commit writes before its checkpoint; the process dies before the rest
            unfinished = {**latest.checkpoint, "id": str(uuid.uuid4())}
            values = unfinished["channel_values"]
            unfinished["channel_values"] = {**values, MESSAGES: [*values[MESSAGES], _human("lost")]}
            await saver._rows.stored_form(thread, latest.checkpoint["id"], unfinished)
        async with _opened(database_url) as (store, graph):
            assert [text for _, text in await _stored(graph, thread)] == ["kept"]
            await _turn(store, graph, thread, [_human("next")])
        async with _opened(database_url) as (_, graph):
            assert [text for _, text in await _stored(graph, thread)] == ["kept", "next"]

    asyncio.run(run())


def test_a_session_stored_before_messages_had_rows_loads_and_moves_to_rows(
    database_url: str,
) -> None:
    async def run() -> None:
        thread = uuid.uuid4().hex
        async with _opened(database_url) as (store, _):
            old_layout = StateGraph(_State)
            old_layout.add_node("step", lambda state: {})
            old_layout.add_edge(START, "step")
            old_graph = old_layout.compile(checkpointer=store.checkpointer.inner)  # no rows
            config = {"configurable": {"thread_id": thread}}
            await old_graph.aupdate_state(config, {MESSAGES: [_human("from before")]})
        async with _opened(database_url) as (store, graph):
            assert [text for _, text in await _stored(graph, thread)] == ["from before"]
            await _turn(store, graph, thread, [_human("after")])
            assert list(_generations(database_url, thread).values()) == [2]
        async with _opened(database_url) as (_, graph):
            assert [text for _, text in await _stored(graph, thread)] == ["from before", "after"]

    asyncio.run(run())
