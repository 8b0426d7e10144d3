"""The per-conversation memo: what it gives is what a fresh count gives, whatever the list
operations between calls, and a conversation that only grows is worked out once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage

from agent.llm.context_window import message_tokens
from agent.llm.wire import chat_messages
from agent.prefix_memo import PrefixMemo
from graph.history_fit import Costs


class Counted:
    """A message stand-in whose work-outs are counted."""

    def __init__(self, text: str) -> None:
        self.text = text


def _memo(size: int = 10_000) -> tuple[PrefixMemo[Counted, str], list[Counted]]:
    seen: list[Counted] = []

    def work_out(obj: Counted) -> str:
        seen.append(obj)
        return obj.text.upper()

    return PrefixMemo(work_out, size), seen


# One step between calls: append, replace one object (same text, another object), drop
# the tail, start from a slice, or a whole other conversation.
_steps = st.one_of(
    st.tuples(st.just("append"), st.text(max_size=3)),
    st.tuples(st.just("replace"), st.integers(0, 50)),
    st.tuples(st.just("truncate"), st.integers(0, 50)),
    st.tuples(st.just("slice"), st.integers(0, 50)),
    st.tuples(st.just("other"), st.text(max_size=3)),
)


def _apply(conversation: list[Counted], step: tuple[str, object]) -> list[Counted]:
    kind, arg = step
    if kind == "append":
        return [*conversation, Counted(str(arg))]
    if kind == "other":
        return [Counted(str(arg))]
    at = int(arg) % (len(conversation) or 1)  # type: ignore[call-overload]
    if kind == "replace" and conversation:
        return [*conversation[:at], Counted(conversation[at].text), *conversation[at + 1 :]]
    if kind == "truncate":
        return conversation[:at]
    return conversation[at:]


@given(st.lists(_steps, max_size=30), st.integers(1, 40))
def test_the_values_are_those_of_a_fresh_work_out_after_any_steps(steps, size) -> None:
    memo, _ = _memo(size)
    conversation = [Counted("first")]
    for step in steps:
        conversation = _apply(conversation, step)
        assert memo.values(conversation) == [obj.text.upper() for obj in conversation]
        assert len(memo) <= max(size, len(conversation))


def test_a_growing_conversation_works_out_only_its_new_objects() -> None:
    memo, seen = _memo()
    conversation = [Counted(str(i)) for i in range(1000)]
    memo.values(conversation)
    seen.clear()
    for turn in range(5):
        conversation = [*conversation, Counted(f"new {turn}")]
        memo.values(conversation)
    assert [obj.text for obj in seen] == [f"new {turn}" for turn in range(5)]


def test_a_replaced_object_is_worked_out_again_and_the_rest_after_it() -> None:
    memo, seen = _memo()
    conversation = [Counted(str(i)) for i in range(10)]
    memo.values(conversation)
    seen.clear()
    replaced = [*conversation[:4], Counted("4"), *conversation[5:]]
    assert memo.values(replaced) == [str(i) for i in range(10)]
    assert seen == replaced[4:]


def test_the_memo_holds_at_most_its_size_in_objects() -> None:
    memo, _ = _memo(size=25)
    for conversation in range(10):
        memo.values([Counted(f"{conversation}-{i}") for i in range(10)])
    assert len(memo) == 20  # two whole conversations of ten; a third would pass 25


def test_kept_costs_and_wire_forms_equal_fresh_ones_as_a_session_grows() -> None:
    history = [HumanMessage(content="q é"), AIMessage(content="a", additional_kwargs={})]
    for turn in range(3):
        history = [*history, HumanMessage(content=f"q{turn}"), AIMessage(content="é" * turn)]
        assert Costs.of(history).tokens == [message_tokens(m) for m in history]
        starts = [i for i, m in enumerate(history) if isinstance(m, HumanMessage)]
        assert Costs.of(history).starts == starts
        copies = [m.model_copy() for m in history]  # other objects: worked out anew
        assert chat_messages(history, "reasoning") == chat_messages(copies, "reasoning")
