"""The wire format as plain dicts (agent/llm/wire.py, agent/llm/chat_completion.py): what a
request carries from the stored messages, and what is read back from a real reply of the
simulator (reasoning under either name, the server's calls in its order, stop_reason, usage)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from agent.llm.backend_config import single_backend
from agent.llm.chat_completion import ChatAnswer, chat_answer
from agent.llm.failures import UpstreamMalformed
from agent.llm.http import ModelHttp, ModelServer, model_server
from agent.llm.wire import chat_messages, request_body
from agent.parsing import ReplyParser
from agent.settings import Settings
from tests.upstream_sim.fixtures import SimServer


def test_messages_carry_reasoning_in_the_field_the_server_reads() -> None:
    history = [
        SystemMessage("sys"),
        HumanMessage("hi"),
        AIMessage(
            "",
            tool_calls=[{"id": "c1", "name": "f", "args": {"__raw__": "{'a': 1"}}],
            additional_kwargs={"reasoning": "Earlier."},
        ),
        ToolMessage("res", tool_call_id="c1"),
        AIMessage(""),
    ]
    vllm = chat_messages(history, "reasoning")
    assert vllm[2]["reasoning"] == "Earlier." and "reasoning_content" not in vllm[2]
    assert chat_messages(history, "reasoning_content")[2]["reasoning_content"] == "Earlier."
    assert vllm[2]["content"] is None  # null only beside calls
    assert vllm[2]["tool_calls"][0]["function"]["arguments"] == "{'a': 1"  # kept raw
    assert vllm[3] == {"role": "tool", "tool_call_id": "c1", "content": "res"}
    assert vllm[4] == {"role": "assistant", "content": ""}


@given(
    texts=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), min_size=1, max_size=6),
    fields=st.lists(st.sampled_from(["reasoning", "reasoning_content"]), min_size=1, max_size=4),
)
def test_a_kept_wire_form_is_the_one_a_fresh_message_gives(
    texts: list[tuple[str, str]], fields: list[str]
) -> None:
    history = [
        AIMessage(content, additional_kwargs={"reasoning": thought} if thought else {})
        for content, thought in texts
    ]
    for field in fields:  # kept forms, asked for again and under the other field
        fresh = [message.model_copy(deep=True) for message in history]
        assert chat_messages(history, field) == chat_messages(fresh, field)


def test_the_body_sends_max_tokens_extra_fields_and_asks_for_usage() -> None:
    options = {"model": "m2", "max_completion_tokens": 5, "extra_body": {"top_k": 3}}
    body = request_body("m1", options, True, messages=[])
    assert body["model"] == "m2" and body["max_tokens"] == 5 and body["top_k"] == 3
    assert "max_completion_tokens" not in body and "extra_body" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in request_body("m1", {}, False, messages=[])


CALLS = [
    {"id": "a", "name": "f", "arguments": "{'x': 1"},
    {"id": "b", "name": "g", "arguments": "[1]"},
    {"id": "c", "name": "h", "arguments": '{"y": 2}'},
]


def _ask(sim: SimServer, stream: bool) -> tuple[ChatAnswer, list[tuple[str, str]]]:
    server = _server(sim)
    deltas: list[tuple[str, str]] = []
    parser = ReplyParser(dialect=None, reasoning_dialect=None)
    body = request_body(server.model, {}, stream, messages=[{"role": "user", "content": "x"}])

    async def ask() -> ChatAnswer:
        try:
            async for item in chat_answer(server, body, parser):
                if isinstance(item, ChatAnswer):
                    return item
                deltas.extend(item)
            raise AssertionError("no answer")
        finally:
            await server.http.aclose()

    return asyncio.run(ask()), deltas


def _server(sim: SimServer) -> ModelServer:
    settings = Settings(_env_file=None, llm_base_url=sim.base_url, llm_max_retries=0)
    return model_server(settings, single_backend(settings), ModelHttp(settings.llm_timeout))


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_a_reply_keeps_reasoning_calls_in_order_and_stop_reason(
    sim: SimServer, stream: bool, field: str
) -> None:
    sim.control.flavor("vllm", reasoning_field=field)
    sim.control.script({"reasoning": "Think.", "tool_calls": CALLS, "usage": {"prompt_tokens": 7}})
    answer, deltas = _ask(sim, stream)
    assert "".join(text for kind, text in deltas if kind == "reasoning") == "Think."
    assert [c["id"] for c in answer.native_calls] == ["a", "b", "c"]
    assert [c["function"]["arguments"] for c in answer.native_calls] == [
        c["arguments"] for c in CALLS
    ]
    assert answer.finish_reason == "tool_calls" and answer.stop_reason == 200012
    assert answer.usage["prompt_tokens"] == 7 and answer.usage["completion_tokens"] > 0
    sent: dict[str, Any] = sim.control.bodies()[-1]
    assert sent["stream"] is stream
    assert ("stream_options" in sent) is stream


@pytest.mark.parametrize(
    "step",
    [
        {"response": {"choices": "x"}},
        {"response": {"choices": [{"message": "hello"}]}},
        {"response": {"choices": [{"message": {"content": 5}}]}},
        {"response": "<html>Bad gateway</html>"},
        {"response": [1, 2]},
    ],
)
def test_a_reply_of_the_wrong_shape_is_malformed(sim: SimServer, step: dict) -> None:
    sim.control.script(step)
    with pytest.raises(UpstreamMalformed):
        _ask(sim, stream=False)
