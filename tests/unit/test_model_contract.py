"""The contract `ReasoningChatOpenAI` relies on: it overrides private `ChatOpenAI` methods
(pyproject bounds langchain-openai below 2). A langchain-openai release that renames them
or changes what they take or give fails here, not in production."""

from __future__ import annotations

import inspect

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_openai import ChatOpenAI

from agent.model import NATIVE_CALLS, ReasoningChatOpenAI

OVERRIDDEN = {
    "_create_chat_result": ["self", "response", "generation_info"],
    "_convert_chunk_to_generation_chunk": [
        "self",
        "chunk",
        "default_chunk_class",
        "base_generation_info",
    ],
    "_get_request_payload": ["self", "input_", "stop", "kwargs"],
}


@pytest.fixture
def model() -> ReasoningChatOpenAI:
    return ReasoningChatOpenAI(
        model="m",
        api_key="unused",
        base_url="http://127.0.0.1:9/v1",
        reasoning_input_field="reasoning",
    )


@pytest.mark.parametrize("name", list(OVERRIDDEN))
def test_the_overridden_methods_still_exist_with_the_same_parameters(name: str) -> None:
    parameters = list(inspect.signature(getattr(ChatOpenAI, name)).parameters)
    assert parameters == OVERRIDDEN[name]


def test_a_full_response_keeps_reasoning_and_the_calls_in_the_servers_order(
    model: ReasoningChatOpenAI,
) -> None:
    calls = [
        {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{'x': 1"}},
        {"id": "b", "type": "function", "function": {"name": "g", "arguments": "[1]"}},
        {"id": "c", "type": "function", "function": {"name": "h", "arguments": '{"y": 2}'}},
    ]
    message = {"role": "assistant", "content": "", "reasoning": "Think.", "tool_calls": calls}
    response = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    result = model._create_chat_result(response)
    reply = result.generations[0].message
    assert isinstance(reply, AIMessage)
    assert reply.additional_kwargs["reasoning"] == "Think."
    assert [c["id"] for c in reply.additional_kwargs[NATIVE_CALLS]] == ["a", "b", "c"]
    assert [c["id"] for c in reply.tool_calls] == ["c"]
    assert {c["id"] for c in reply.invalid_tool_calls} == {"a", "b"}


def test_a_stream_chunk_keeps_its_reasoning(model: ReasoningChatOpenAI) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"reasoning_content": "Hm."}}]}
    generation = model._convert_chunk_to_generation_chunk(chunk, AIMessageChunk, {})
    assert generation is not None
    assert generation.message.additional_kwargs["reasoning"] == "Hm."


def test_the_request_sends_reasoning_back_and_max_tokens(model: ReasoningChatOpenAI) -> None:
    history = [HumanMessage("hi"), AIMessage("", additional_kwargs={"reasoning": "Earlier."})]
    payload = model._get_request_payload(history, max_completion_tokens=5)
    assert payload["messages"][1]["reasoning"] == "Earlier."
    assert payload["max_tokens"] == 5
    assert "max_completion_tokens" not in payload
