"""The state's reducer gives what LangGraph's `add_messages` gives, step after step,
whatever the steps bring: new messages, ids the history holds (replacements), removals,
a step applied twice (the router's read, then the step), a history it did not make."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, RemoveMessage
from langgraph.graph.message import add_messages

from graph.message_merge import merge_messages

# A step: (kind, text, position) - position picks a message of the history by index.
_steps = st.lists(
    st.tuples(
        st.sampled_from(["new", "new", "replace", "remove", "twice", "copy"]),
        st.text(max_size=3),
        st.integers(0, 40),
    ),
    max_size=25,
)


def _right(kind: str, text: str, at: int, history: list[BaseMessage]) -> list[BaseMessage]:
    if kind in ("new", "twice", "copy") or not history:
        return [HumanMessage(content=text), AIMessage(content=text + "!")]
    target = history[at % len(history)]
    if kind == "replace":
        return [AIMessage(content=text, id=target.id)]
    return [RemoveMessage(id=target.id)]


def _shape(history: list[BaseMessage]) -> list[tuple[str, object]]:
    return [(type(m).__name__, m.content) for m in history]


@given(_steps)
def test_every_step_ends_as_add_messages_would_have_it(steps) -> None:
    ours: list[BaseMessage] = []
    theirs: list[BaseMessage] = []
    for kind, text, at in steps:
        right = _right(kind, text, at, ours)
        if kind == "twice":
            merge_messages(ours, right)  # the router's read applies the step first
        if kind == "copy":
            ours = list(ours)  # a history the reducer did not make (read from the store)
        ours = merge_messages(ours, right)
        theirs = add_messages(theirs, _right(kind, text, at, theirs))
        assert _shape(ours) == _shape(theirs)
        ids = [m.id for m in ours]
        assert None not in ids and len(set(ids)) == len(ids)


def test_a_new_message_on_a_long_history_is_appended_with_a_fresh_id() -> None:
    history = merge_messages([], [HumanMessage(content=str(i)) for i in range(1000)])
    reply = AIMessage(content="answer")
    merged = merge_messages(history, [reply])
    assert merged[:-1] == history and merged[-1] is reply and reply.id
    assert merge_messages(history, [reply]) == merged  # applied again: the same result
