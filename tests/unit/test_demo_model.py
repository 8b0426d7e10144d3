"""The demo model's replies: arithmetic to the calculator, the time to the clock, and an
answer from a tool's result."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.demo_model import reply_to
from mcp_tools.builtin.calculator import evaluate

TOOLS = [{"type": "function", "function": {"name": n}} for n in ("calculator", "current_time")]


def ask(text: str, tools: list | None = TOOLS) -> object:
    return reply_to([{"role": "user", "content": text}], tools)


@given(
    a=st.integers(0, 10**6),
    op=st.sampled_from(["+", "-", "*", "/", "^", "%"]),
    b=st.integers(1, 9),
    lead=st.sampled_from(["what is ", "What's ", "compute ", ""]),
    tail=st.sampled_from(["", "?", " please"]),
)
def test_arithmetic_goes_to_the_calculator_whole(a: int, op: str, b: int, lead: str, tail: str):
    reply = ask(f"{lead}{a} {op} {b}{tail}")
    assert reply.call is not None and reply.call.name == "calculator"
    assert evaluate(reply.call.arguments["expression"]) == evaluate(f"{a} {op} {b}")


def test_the_time_goes_to_the_clock() -> None:
    reply = ask("what time is it")
    assert reply.call is not None and reply.call.name == "current_time"


def test_a_tool_that_is_not_offered_is_named_instead_of_called() -> None:
    reply = ask("what is 6*7", tools=None)
    assert reply.call is None
    assert "calculator" in reply.content and "TOOLS_ENABLED" in reply.content


def test_other_text_gets_what_the_demo_can_do() -> None:
    reply = ask([{"type": "text", "text": "hello"}])  # content parts
    assert reply.call is None and '"hello"' in reply.content and "6*7" in reply.content


def test_the_answer_after_a_tool_uses_its_result() -> None:
    call = {"id": "c1", "function": {"name": "calculator", "arguments": '{"expression": "6*7"}'}}
    messages = [
        {"role": "user", "content": "what is 6*7"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    assert reply_to(messages, TOOLS).content == "6*7 = 42"


def test_a_huge_message_is_answered_from_its_beginning() -> None:
    reply = ask("1 " * 500_000 + "+ 1")  # no operator in the part that is read
    assert reply.call is None and "demo model" in reply.content


def test_odd_requests_get_an_answer_not_an_error() -> None:
    assert "demo model" in reply_to(["not a message", {"role": "user"}], ["odd"]).content
