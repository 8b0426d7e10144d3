"""oss-agent against a real vLLM (scripted gpt-oss model), in auto, native and harmony modes,
streamed and not: what a client sees through the OpenAI SDK."""

from __future__ import annotations

import openai
import pytest

from agent.llm.context_window import message_tokens, tools_tokens
from agent.messages import to_langchain
from tests.engine import scripts
from tests.engine.conftest import ENGINE
from tests.engine.scripts import prompt_for
from tests.integration.service import Service
from tests.integration.test_modes import STREAMED, assert_no_markup, chat
from tests.integration.tooldefs import WEATHER

pytestmark = ENGINE

PARIS = {"city": "Paris"}


def ask(script: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt_for(script)}]


@STREAMED
def test_final_answer_with_reasoning(agent: Service, stream: bool) -> None:
    reply = chat(agent, ask("answer"), stream=stream)
    assert reply.content == scripts.ANSWER
    assert reply.reasoning == scripts.REASONING
    assert reply.finish_reason == "stop"
    assert_no_markup(reply)


@STREAMED
@pytest.mark.parametrize("script", ["call", "preamble", "garbled"])
def test_client_tool_call_reaches_the_client(agent: Service, stream: bool, script: str) -> None:
    reply = chat(agent, ask(script), stream=stream, tools=[WEATHER])
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"
    assert all(call_id for call_id in reply.ids)
    assert_no_markup(reply)
    if script == "preamble":
        assert reply.content == scripts.PREAMBLE
    if script == "call":
        assert reply.reasoning == "I will call get_weather."


@STREAMED
def test_tool_result_round_trip_ends_with_an_answer(agent: Service, stream: bool) -> None:
    first = chat(agent, ask("call"), stream=stream, tools=[WEATHER])
    assert first.calls == [("get_weather", PARIS)]
    result = {"role": "tool", "tool_call_id": first.ids[0], "content": "Sunny, 21 C"}
    second = chat(agent, [result], stream=stream, tools=[WEATHER], session=first.session)
    assert (second.content, second.calls) == (scripts.AFTER_TOOL_ANSWER, [])
    assert second.reasoning == scripts.AFTER_TOOL_REASONING


@STREAMED
def test_server_tool_runs_and_the_loop_ends(agent: Service, stream: bool) -> None:
    reply = chat(agent, ask("calculator"), stream=stream)
    assert (reply.content, reply.calls, reply.finish_reason) == (
        scripts.AFTER_TOOL_ANSWER, [], "stop"
    )  # fmt: skip
    assert_no_markup(reply)


@STREAMED
@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}],
    ids=["required", "named"],
)  # fmt: skip
def test_tool_choice_demanding_a_call(agent: Service, stream: bool, choice) -> None:
    reply = chat(agent, ask("call"), stream=stream, tools=[WEATHER], tool_choice=choice)
    assert reply.calls == [("get_weather", PARIS)]
    assert reply.finish_reason == "tool_calls"


def test_usage_is_reported(agent: Service) -> None:
    completion = agent.client().chat.completions.create(model="m", messages=ask("answer"))
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 50 and usage.completion_tokens > 5
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_vllm_rejection_becomes_an_openai_error(agent: Service) -> None:
    """A request vLLM refuses (here min_p out of range) reaches the client as a 400 carrying
    vLLM's reason; a prompt longer than the server's context is refused before it is sent."""
    with pytest.raises(openai.BadRequestError) as caught:
        agent.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], extra_body={"min_p": 2.0}
        )
    error = caught.value.body
    assert caught.value.status_code == 400
    if agent.env["TOOL_CALL_MODE"] == "harmony":  # raw completions cannot carry the field
        assert (error["code"], error["param"]) == ("unsupported_field", "min_p")
    else:
        assert (error["code"], error["type"]) == ("upstream_rejected", "invalid_request_error")
        assert "min_p" in error["message"]
    too_long = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(openai.BadRequestError) as caught:
        agent.client().chat.completions.create(model="m", messages=too_long)
    assert caught.value.body["code"] == "context_length_exceeded"
    assert (
        "4096" in caught.value.body["message"] or "CONTEXT_WINDOW" in caught.value.body["message"]
    )


HISTORY_TEXTS = {
    "prose": "The committee met on Tuesday to review the budget, and after a long discussion "
    "about priorities it agreed to fund the library's new reading room. " * 6,
    "code": "def area(radius: float) -> float:\n    return 3.14159 * radius ** 2\n\n" * 8,
    "korean": "오늘 서울의 날씨는 맑고 바람이 조금 불겠습니다. 내일은 비가 올 수 있습니다. " * 8,
    "mixed": "Prices: 12,345.67 € (≈ $13,000) 🙂 — naïve café,東京 3-chōme; see <tag>x</tag>. " * 6,
}


@pytest.mark.parametrize("kind", HISTORY_TEXTS)
def test_history_is_never_counted_below_what_vllm_counts(agent: Service, kind: str) -> None:
    """The context-window fit counts a stored message at least as vLLM's own tokenizer and
    chat template do (never less: a call it lets through fits), and close to it."""
    client = agent.client()
    alone = client.chat.completions.create(model="m", messages=ask("answer"))
    history = [
        {"role": "user", "content": HISTORY_TEXTS[kind]},
        {"role": "assistant", "content": "Noted."},
    ]
    after = client.chat.completions.create(model="m", messages=[*history, *ask("answer")])
    assert alone.usage is not None and after.usage is not None
    real = after.usage.prompt_tokens - alone.usage.prompt_tokens
    counted = sum(message_tokens(to_langchain(m)) for m in history)
    assert real <= counted <= real * 1.1 + 16, (real, counted)


def test_tools_are_never_counted_below_what_vllm_counts(agent: Service) -> None:
    """The offered tools' schemas take at least the tokens the fit counts for them."""
    client = agent.client()
    bare = client.chat.completions.create(model="m", messages=ask("answer"))
    offered = client.chat.completions.create(model="m", messages=ask("answer"), tools=[WEATHER])
    assert bare.usage is not None and offered.usage is not None
    real = offered.usage.prompt_tokens - bare.usage.prompt_tokens
    assert real <= tools_tokens([WEATHER]) <= 3 * real, (real, tools_tokens([WEATHER]))
