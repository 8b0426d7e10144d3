"""Tools that need a person's yes: approve, refuse, restart in between, over HTTP and the SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

CALC = {"name": "calculator", "arguments": {"expression": "6*7"}}
ASK = [{"role": "user", "content": "What is 6*7?"}]


@pytest.fixture
def guarded(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    env = service_env(
        sim.base_url, tmp_path, TOOLS_ENABLED="calculator", TOOLS_REQUIRE_APPROVAL="calc*"
    )
    svc = Service(env, tmp_path).start()
    yield svc
    svc.stop()


def _post(svc: Service, messages: list[dict], session: str | None = None, **extra):
    headers = {"X-Session-ID": session} if session else {}
    with svc.http() as http:
        body = {"model": "m", "messages": messages, **extra}
        return http.post("/v1/chat/completions", json=body, headers=headers)


def _answer(call_id: str, decision: dict) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(decision)}


def _approval_call(response) -> dict:
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "approve_tool_call"
    return call


def test_approved_after_a_restart_the_tool_runs(guarded: Service, sim: SimServer) -> None:
    sim.control.script({"tool_calls": [CALC]}, {"content": "It is 42."})
    first = _post(guarded, ASK)
    call = _approval_call(first)
    session = first.headers["x-session-id"]
    args = json.loads(call["function"]["arguments"])
    assert args["tool"] == "calculator" and args["arguments"] == {"expression": "6*7"}
    assert call["id"] == f"approval_{args['call_id']}"
    pending = guarded.http().get(f"/v1/sessions/{session}").json()["pending_approvals"]
    assert pending == [args]

    busy = _post(guarded, [{"role": "user", "content": "hello?"}], session)
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "approval_pending"
    assert "approve_tool_call" in busy.json()["error"]["message"]

    guarded.restart()
    done = _post(guarded, [_answer(call["id"], {"approved": True})], session)
    assert done.status_code == 200, done.text
    assert done.json()["choices"][0]["message"]["content"] == "It is 42."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert sent[-1]["role"] == "tool" and sent[-1]["content"] == "42"
    history = guarded.http().get(f"/v1/sessions/{session}").json()
    assert history["pending_approvals"] == []
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "tool", "assistant"]


def test_refused_the_model_is_told_why(guarded: Service, sim: SimServer) -> None:
    sim.control.script({"tool_calls": [CALC]}, {"content": "Understood, I will not."})
    first = _post(guarded, ASK, stream=False)
    call = _approval_call(first)
    session = first.headers["x-session-id"]
    answer = _answer(call["id"], {"approved": False, "reason": "not today"})
    done = _post(guarded, [*ASK, first.json()["choices"][0]["message"], answer], session)
    assert done.json()["choices"][0]["message"]["content"] == "Understood, I will not."
    told = sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]
    assert told["role"] == "tool" and "refused" in told["content"]
    assert "not today" in told["content"] and "42" not in told["content"]


def test_a_malformed_answer_is_a_400(guarded: Service, sim: SimServer) -> None:
    sim.control.script({"tool_calls": [CALC]})
    first = _post(guarded, ASK)
    call = _approval_call(first)
    bad = {"role": "tool", "tool_call_id": call["id"], "content": "yes please"}
    response = _post(guarded, [bad], first.headers["x-session-id"])
    assert response.status_code == 400
    assert '{"approved": true}' in response.json()["error"]["message"]


def test_the_sdk_streams_the_request_and_the_resumed_turn(guarded: Service, sim: SimServer) -> None:
    sim.control.script({"tool_calls": [CALC]}, {"content": "Six sevens are 42."})
    client = guarded.client()
    raw = client.chat.completions.with_raw_response.create(model="m", messages=ASK, stream=True)
    session = raw.headers["x-session-id"]
    chunks = list(raw.parse())
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["tool_calls"]
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    call_id = calls[0].id
    assert calls[0].function.name == "approve_tool_call"
    arguments = "".join(tc.function.arguments or "" for tc in calls)
    assert json.loads(arguments)["tool"] == "calculator"
    assistant = {
        "role": "assistant",
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": "approve_tool_call", "arguments": arguments},
            }
        ],
    }
    resumed = client.chat.completions.create(
        model="m",
        messages=[*ASK, assistant, _answer(call_id, {"approved": True})],
        stream=True,
        extra_headers={"X-Session-ID": session},
    )
    text = "".join(c.choices[0].delta.content or "" for c in resumed if c.choices)
    assert text == "Six sevens are 42."


def test_over_the_responses_api_then_continued_by_chat(guarded: Service, sim: SimServer) -> None:
    sim.control.script({"tool_calls": [CALC]}, {"content": "It is 42."}, {"content": "Yes."})
    client = guarded.client()
    raw = client.responses.with_raw_response.create(model="m", input="What is 6*7?")
    first = raw.parse()
    [item] = first.output
    assert item.type == "mcp_approval_request" and item.name == "calculator"
    assert item.server_label == "builtin" and json.loads(item.arguments) == CALC["arguments"]
    assert client.responses.retrieve(first.id).output == first.output  # stored as shown
    answer = {"type": "mcp_approval_response", "approval_request_id": item.id, "approve": True}
    second = client.responses.create(model="m", input=[answer], previous_response_id=first.id)
    assert second.output_text == "It is 42."
    session = raw.headers["x-session-id"]
    chat = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Sure?"}],
        extra_headers={"X-Session-ID": session},
    )
    assert chat.choices[0].message.content == "Yes."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert [m["role"] for m in sent[1:]] == ["user", "assistant", "tool", "assistant", "user"]


def test_a_failed_resumed_turn_still_waits_for_approval(guarded: Service, sim: SimServer) -> None:
    sim.control.script({"tool_calls": [CALC]})
    first = _post(guarded, ASK)
    call = _approval_call(first)
    session = first.headers["x-session-id"]
    sim.control.flavor("vllm", served_model="other-model")  # the next model call fails
    failed = _post(guarded, [_answer(call["id"], {"approved": True})], session)
    assert failed.status_code >= 400
    history = guarded.http().get(f"/v1/sessions/{session}").json()
    assert len(history["pending_approvals"]) == 1
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]


def test_a_streamed_responses_approval_refused_and_a_malformed_answer(
    guarded: Service, sim: SimServer
) -> None:
    sim.control.script({"tool_calls": [CALC]}, {"content": "I will not compute it."})
    client = guarded.client()
    events = list(client.responses.create(model="m", input="What is 6*7?", stream=True))
    added = [e.item for e in events if e.type == "response.output_item.added"]
    assert [i.type for i in added] == ["mcp_approval_request"]
    done = events[-1].response
    assert done.output[0].id == added[0].id and done.output[0].name == "calculator"
    for wrong, param in (
        ({"approval_request_id": "call_1", "approve": True}, "approval_request_id"),
        ({"approval_request_id": added[0].id, "approve": "yes"}, "approve"),
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.responses.create(
                model="m",
                input=[{"type": "mcp_approval_response", **wrong}],
                previous_response_id=done.id,
            )
        assert refused.value.body["param"] == f"input[0].{param}"
    answer = {
        "type": "mcp_approval_response",
        "approval_request_id": added[0].id,
        "approve": False,
        "reason": "not now",
    }
    second = client.responses.create(model="m", input=[answer], previous_response_id=done.id)
    assert second.output_text == "I will not compute it."
    told = sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]
    assert told["role"] == "tool" and "refused" in told["content"] and "not now" in told["content"]
