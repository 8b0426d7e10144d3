"""LangChain's `ChatOpenAI` as the client of oss-agent: bound tools, tool calls back as
`AIMessage.tool_calls`, the tool result continued by session header or by resending the
history, and the same streamed (`stream` / `astream`, chunks added with `+`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from tests.integration.service import Service
from tests.integration.tooldefs import WEATHER
from tests.upstream_sim.fixtures import SimServer

CHAT = "/v1/chat/completions"
PARIS = {"city": "Paris"}
QUESTION = "Weather in Paris?"
CALL_STEP = {
    "reasoning": "Need the weather.",
    "tool_calls": [{"name": "get_weather<|channel|>commentary", "arguments": "{'city': 'Paris'}"}],
}
ANSWER_STEP = {"reasoning": "It is sunny.", "content": "It is sunny in Paris, 21 C."}
# langchain-openai caches its async HTTP client process-wide: the async tests share a loop.
SHARED_LOOP = pytest.mark.asyncio(loop_scope="module")


def model(svc: Service, **kwargs: Any) -> Any:
    """A ChatOpenAI pointed at oss-agent, the weather tool bound."""
    llm = ChatOpenAI(
        base_url=f"{svc.url}/v1",
        api_key="x",
        model="gpt-oss",
        max_retries=0,
        timeout=30,
        include_response_headers=True,
        **kwargs,
    )
    return llm.bind_tools([WEATHER])


def session_of(message: AIMessage) -> str:
    return message.response_metadata["headers"]["x-session-id"]


def assert_weather_call(message: AIMessage) -> dict[str, Any]:
    assert message.invalid_tool_calls == []
    (call,) = message.tool_calls
    assert call["name"] == "get_weather"
    assert call["args"] == PARIS
    assert call["id"]
    assert message.content == ""
    assert message.response_metadata["finish_reason"] == "tool_calls"
    return call


def assert_continued(sim: SimServer, call_id: str, *, by: str = "session-header") -> None:
    """The upstream saw the question once, the assistant call, and the tool result; the
    call's reasoning only when the session kept it (ChatOpenAI drops reasoning)."""
    messages = sim.control.bodies(CHAT)[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2].get("reasoning") == ("Need the weather." if by == "session-header" else None)
    assert messages[1] == {"role": "user", "content": QUESTION}
    (sent,) = messages[2]["tool_calls"]
    assert sent["id"] == call_id and sent["function"]["name"] == "get_weather"
    assert json.loads(sent["function"]["arguments"]) == PARIS
    assert messages[3] == {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 C"}


def test_invoke_returns_tool_calls(service: Service, sim: SimServer) -> None:
    sim.control.script(CALL_STEP)
    reply = model(service).invoke(QUESTION)
    assert isinstance(reply, AIMessage)
    assert_weather_call(reply)
    (body,) = sim.control.bodies(CHAT)
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["messages"][-1] == {"role": "user", "content": QUESTION}


@pytest.mark.parametrize("by", ["session-header", "full-history"])
def test_tool_result_continues_the_conversation(service: Service, sim: SimServer, by: str) -> None:
    sim.control.script(CALL_STEP, ANSWER_STEP)
    question = HumanMessage(QUESTION)
    first = model(service).invoke([question])
    call = assert_weather_call(first)
    history = [question, first, ToolMessage("sunny, 21 C", tool_call_id=call["id"])]
    if by == "session-header":
        session = session_of(first)
        second = model(service, default_headers={"X-Session-ID": session}).invoke(history)
        assert session_of(second) == session
    else:
        second = model(service).invoke(history)
        assert session_of(second) != session_of(first)
    assert second.content == "It is sunny in Paris, 21 C."
    assert second.tool_calls == []
    assert second.response_metadata["finish_reason"] == "stop"
    assert_continued(sim, call["id"], by=by)


def _merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    assert chunks
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


def _assert_streamed_call(merged: AIMessageChunk) -> dict[str, Any]:
    (chunk,) = merged.tool_call_chunks
    assert chunk["name"] == "get_weather" and chunk["index"] == 0
    assert json.loads(chunk["args"]) == PARIS
    call = assert_weather_call(merged)
    assert call["id"] == chunk["id"]
    return call


@pytest.mark.parametrize("by", ["session-header", "full-history"])
def test_stream_tool_call_and_continuation(service: Service, sim: SimServer, by: str) -> None:
    sim.control.script(
        {**CALL_STEP, "chunk_size": 3}, {**ANSWER_STEP, "chunk_size": 3, "chunk_delay": 0.02}
    )
    question = HumanMessage(QUESTION)
    first = _merged(list(model(service).stream([question])))
    call = _assert_streamed_call(first)
    history = [question, first, ToolMessage("sunny, 21 C", tool_call_id=call["id"])]
    headers = {"X-Session-ID": session_of(first)} if by == "session-header" else None
    chunks = list(model(service, default_headers=headers).stream(history))
    second = _merged(chunks)
    # really streamed (chunks that arrive apart reach the client apart; the service joins
    # only the deltas that pile up while it is writing)
    assert len([c for c in chunks if c.content]) > 1
    assert second.content == "It is sunny in Paris, 21 C."
    assert second.tool_calls == [] and second.tool_call_chunks == []
    assert second.response_metadata["finish_reason"] == "stop"
    assert_continued(sim, call["id"], by=by)


@SHARED_LOOP
async def test_astream_tool_call_and_continuation(service: Service, sim: SimServer) -> None:
    sim.control.script({**CALL_STEP, "chunk_size": 2}, ANSWER_STEP)
    question = HumanMessage(QUESTION)
    first = _merged([chunk async for chunk in model(service).astream([question])])
    call = _assert_streamed_call(first)
    session = session_of(first)
    history = [question, first, ToolMessage("sunny, 21 C", tool_call_id=call["id"])]
    continued = model(service, default_headers={"X-Session-ID": session})
    second = _merged([chunk async for chunk in continued.astream(history)])
    assert second.content == "It is sunny in Paris, 21 C."
    assert second.tool_calls == []
    assert_continued(sim, call["id"])


@SHARED_LOOP
async def test_ainvoke_two_turns_in_one_session(service: Service, sim: SimServer) -> None:
    sim.control.script(CALL_STEP, ANSWER_STEP)
    first = await model(service).ainvoke(QUESTION)
    call = assert_weather_call(first)
    continued = model(service, default_headers={"X-Session-ID": session_of(first)})
    second = await continued.ainvoke([ToolMessage("sunny, 21 C", tool_call_id=call["id"])])
    assert second.content == "It is sunny in Paris, 21 C."
    assert_continued(sim, call["id"])
