"""Which request messages are new for a stored session (clients resend history differently)."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.messages import server_tool_message, to_langchain
from graph.turn import new_messages

CALL = {"id": "c1", "name": "calculator", "args": {"expression": "1+1"}}
STORED = [
    HumanMessage("hi"),
    AIMessage("hello", additional_kwargs={"reasoning": "greet"}),
    HumanMessage("add"),
    AIMessage("Let me add.", tool_calls=[CALL]),
    server_tool_message(CALL, "2"),  # a server tool: the client never saw the call
    AIMessage("It is 2."),
]


def texts(messages) -> list[str]:
    return [str(m.content) for m in messages]


def test_only_the_new_message() -> None:
    assert texts(new_messages(STORED, [HumanMessage("next")])) == ["next"]


def test_whole_history_resent_as_the_client_saw_it() -> None:
    sent = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},  # no reasoning echoed
        {"role": "user", "content": "add"},
        {"role": "assistant", "content": "Let me add.\n\nIt is 2."},  # the turn's response
        {"role": "user", "content": "next"},
    ]
    assert texts(new_messages(STORED, [to_langchain(m) for m in sent])) == ["next"]


def test_whole_history_resent_as_the_session_lists_it() -> None:
    sent = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},  # no reasoning echoed
        {"role": "user", "content": [{"type": "text", "text": "add"}]},
        {
            "role": "assistant",
            "content": "Let me add.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "2"},
        {"role": "assistant", "content": "It is 2."},
        {"role": "user", "content": "next"},
    ]
    assert texts(new_messages(STORED, [to_langchain(m) for m in sent])) == ["next"]


def test_trimmed_window() -> None:
    sent = [HumanMessage("add"), AIMessage("Let me add.\n\nIt is 2."), HumanMessage("more")]
    assert texts(new_messages(STORED, sent)) == ["more"]


def test_repeating_an_earlier_question_is_new() -> None:
    assert texts(new_messages(STORED, [HumanMessage("hi")])) == ["hi"]


def test_client_and_server_calls_in_one_reply() -> None:
    weather = {"id": "w1", "name": "get_weather", "args": {"city": "Oslo"}}
    stored = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[CALL, weather]),
        server_tool_message(CALL, "2"),
    ]
    sent = [
        HumanMessage("q"),
        AIMessage("", tool_calls=[weather]),
        ToolMessage("sunny", tool_call_id="w1"),
    ]
    assert texts(new_messages(stored, sent)) == ["sunny"]


def test_client_tool_results_continue_a_call() -> None:
    stored = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"id": "w1", "name": "get_weather", "args": {"city": "Oslo"}}]),
    ]
    sent = [ToolMessage("sunny", tool_call_id="w1")]
    assert new_messages(stored, sent) == sent


def test_diverging_history_is_appended_whole() -> None:
    sent = [HumanMessage("other"), AIMessage("thread")]
    assert new_messages(STORED, sent) == sent


def test_empty_store() -> None:
    sent = [HumanMessage("a")]
    assert new_messages([], sent) == sent


def test_a_window_resent_from_a_long_session_is_not_stored_again() -> None:
    """Only the tail a request can overlap is compared; folding still works across it."""
    long = [m for _ in range(300) for m in STORED]  # 1,800 stored messages
    window = [
        {"role": "user", "content": "add"},
        {"role": "assistant", "content": "Let me add.\n\nIt is 2."},
        {"role": "user", "content": "next"},
    ]
    assert texts(new_messages(long, [to_langchain(m) for m in window])) == ["next"]
    assert texts(new_messages(long, [HumanMessage("hi"), HumanMessage("x")])) == ["hi", "x"]
