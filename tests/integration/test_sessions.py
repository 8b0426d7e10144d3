"""Per-session memory: continue, resend, restart, reset, delete, roll back failed turns."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer


def _chat(svc: Service, messages: list[dict], session: str | None = None, **kw):
    headers = {"X-Session-ID": session} if session else {}
    raw = svc.client().chat.completions.with_raw_response.create(
        model="m", messages=messages, extra_headers=headers, **kw
    )
    return raw.parse(), raw.headers["x-session-id"]


def _history(svc: Service, session: str) -> list[dict]:
    response = httpx.get(f"{svc.url}/v1/sessions/{session}")
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_new_message_only_continues_the_session(service: Service, sim: SimServer) -> None:
    sim.control.script({"content": "Nice to meet you, Ada."}, {"content": "Your name is Ada."})
    _, session = _chat(service, [{"role": "user", "content": "I am Ada."}])
    reply, same = _chat(service, [{"role": "user", "content": "Who am I?"}], session)
    assert same == session
    assert reply.choices[0].message.content == "Your name is Ada."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert [m["content"] for m in sent[1:]] == ["I am Ada.", "Nice to meet you, Ada.", "Who am I?"]
    assert len(_history(service, session)) == 4


def test_resent_history_is_not_stored_twice(service: Service, sim: SimServer) -> None:
    sim.control.script({"reasoning": "r1", "content": "First."}, {"content": "Second."})
    first = [{"role": "user", "content": "one"}]
    _, session = _chat(service, first)
    resent = [
        *first,
        {"role": "assistant", "content": "First."},
        {"role": "user", "content": "two"},
    ]
    _chat(service, resent, session)
    history = _history(service, session)
    assert [m["content"] for m in history] == ["one", "First.", "two", "Second."]
    assert history[1]["reasoning"] == "r1"


def test_system_message_sets_instructions(service: Service, sim: SimServer) -> None:
    _, session = _chat(
        service,
        [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "hello"}],
    )
    _chat(service, [{"role": "user", "content": "again"}], session)
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Answer in French."}
    assert sum(m["role"] == "system" for m in sent) == 1
    body = httpx.get(f"{service.url}/v1/sessions/{session}").json()
    assert body["instructions"] == "Answer in French."


def test_sessions_are_isolated(service: Service, sim: SimServer) -> None:
    _, a = _chat(service, [{"role": "user", "content": "secret A"}])
    _, b = _chat(service, [{"role": "user", "content": "question B"}])
    assert a != b
    assert "secret A" not in str(_history(service, b))


def test_session_survives_a_restart(fresh_service: Service, sim: SimServer) -> None:
    fresh_service.start()
    sim.control.script({"content": "Stored."}, {"content": "Still here."})
    _, session = _chat(fresh_service, [{"role": "user", "content": "remember me"}])
    fresh_service.restart()
    reply, _ = _chat(fresh_service, [{"role": "user", "content": "still?"}], session)
    assert reply.choices[0].message.content == "Still here."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert [m["content"] for m in sent[1:]] == ["remember me", "Stored.", "still?"]


def test_reset_and_delete(service: Service, sim: SimServer) -> None:
    _, session = _chat(
        service, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    )
    reset = httpx.post(f"{service.url}/v1/sessions/{session}/reset")
    assert reset.status_code == 200
    assert reset.json()["messages"] == [{"role": "system", "content": "Be brief."}]
    assert httpx.delete(f"{service.url}/v1/sessions/{session}").status_code == 200
    missing = httpx.get(f"{service.url}/v1/sessions/{session}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"
    with pytest.raises(openai.NotFoundError):
        _chat(service, [{"role": "user", "content": "hello?"}], session)
    assert httpx.delete(f"{service.url}/v1/sessions/{session}").status_code == 404
    assert httpx.post(f"{service.url}/v1/sessions/{session}/reset").status_code == 404


def test_failed_turn_leaves_history_unchanged(service: Service, sim: SimServer) -> None:
    sim.control.script({"content": "ok"}, {"fault": "error500"})
    _, session = _chat(service, [{"role": "user", "content": "one"}])
    before = _history(service, session)
    with pytest.raises(openai.APIStatusError) as info:
        _chat(service, [{"role": "user", "content": "two"}], session)
    assert info.value.status_code == 502
    assert info.value.response.headers["x-session-id"] == session
    assert _history(service, session) == before


def test_failed_tool_turn_rolls_back_every_step(service: Service, sim: SimServer) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+2"}}]},
        {"fault": "error500"},
    )
    with pytest.raises(openai.APIStatusError) as info:
        _chat(service, [{"role": "user", "content": "add"}])
    assert len(sim.control.requests("/v1/chat/completions")) == 2  # the tool ran, then it failed
    assert _history(service, info.value.response.headers["x-session-id"]) == []


def test_failed_first_turn_keeps_an_empty_session(service: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "error500"}, {"content": "second try works"})
    with pytest.raises(openai.APIStatusError) as info:
        _chat(service, [{"role": "user", "content": "hi"}])
    session = info.value.response.headers["x-session-id"]
    assert _history(service, session) == []
    reply, _ = _chat(service, [{"role": "user", "content": "hi"}], session)
    assert reply.choices[0].message.content == "second try works"
    assert [m["content"] for m in _history(service, session)] == ["hi", "second try works"]


def test_a_new_session_cut_off_in_its_first_turn_is_kept_with_its_instructions(
    service: Service, sim: SimServer
) -> None:
    """A new session exists from its first turn's start (its id is in the response's headers:
    a client may read it at once); a first turn that is cut off leaves it empty, with the
    instructions sent, for the client to go on with."""
    slow = {"content": "word " * 200, "chunk_size": 5, "chunk_delay": 0.05}
    sim.control.script(slow, {"content": "after"})
    messages = [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "one"},
    ]
    body = {"stream": True, "messages": messages}
    with httpx.stream(
        "POST", f"{service.url}/v1/chat/completions", json=body, timeout=30
    ) as response:
        session = response.headers["x-session-id"]
        assert any('"content": "word' in line for line in response.iter_lines())
        during = httpx.get(f"{service.url}/v1/sessions/{session}")
        assert during.status_code == 200 and during.json()["messages"][-1]["role"] == "system"
    stored = httpx.get(f"{service.url}/v1/sessions/{session}").json()  # the turn never shows
    assert stored["instructions"] == "Answer in French."
    assert [m["role"] for m in stored["messages"]] == ["system"]
    reply, _ = _chat(service, [{"role": "user", "content": "two"}], session)
    assert reply.choices[0].message.content == "after"
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "Answer in French."}
    assert [m["content"] for m in _history(service, session)][1:] == ["two", "after"]


def test_dropped_stream_rolls_back(service: Service, sim: SimServer) -> None:
    long_answer = "a long answer that goes on and on, well past the first deltas " * 3
    dropped = {
        "content": long_answer,
        "chunk_size": 4,
        "chunk_delay": 0.02,
        "fault": "drop",
        "fault_after": 20,
    }
    sim.control.script({"content": "first"}, dropped)
    _, session = _chat(service, [{"role": "user", "content": "one"}])
    before = _history(service, session)
    stream = service.client().chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "two"}],
        stream=True,
        extra_headers={"X-Session-ID": session},
    )
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            received.append(chunk)
    assert any(c.choices and c.choices[0].delta.content for c in received)  # failed mid-way
    assert _history(service, session) == before


def test_client_disconnect_mid_stream_rolls_back(service: Service, sim: SimServer) -> None:
    slow = {"content": "word " * 200, "chunk_size": 5, "chunk_delay": 0.05}
    sim.control.script({"content": "first"}, slow, {"content": "after"})
    _, session = _chat(service, [{"role": "user", "content": "one"}])
    before = _history(service, session)
    body = {"stream": True, "messages": [{"role": "user", "content": "two"}]}
    headers = {"X-Session-ID": session}
    with httpx.stream(
        "POST", f"{service.url}/v1/chat/completions", json=body, headers=headers, timeout=30
    ) as response:
        lines = response.iter_lines()
        assert any('"content": "word' in line for line in lines)  # output had started
    # the session is free again once the cancelled turn was rolled back
    reply, _ = _chat(service, [{"role": "user", "content": "three"}], session)
    assert reply.choices[0].message.content == "after"
    assert [m["content"] for m in _history(service, session)] == [
        *[m["content"] for m in before],
        "three",
        "after",
    ]


def test_resending_a_server_tool_turn_as_shown_stores_nothing_twice(
    service: Service, sim: SimServer
) -> None:
    sim.control.script(
        {
            "content": "Let me check.",
            "tool_calls": [{"name": "calculator", "arguments": {"expression": "25*8"}}],
        },
        {"content": "It is 200."},
        {"content": "You are welcome."},
    )
    first = [{"role": "user", "content": "What is 25*8?"}]
    reply, session = _chat(service, first)
    shown = reply.choices[0].message.content
    assert shown == "Let me check.\n\nIt is 200."
    resent = [
        *first,
        {"role": "assistant", "content": shown},
        {"role": "user", "content": "thanks"},
    ]
    _chat(service, resent, session)
    history = _history(service, session)
    assert [m["role"] for m in history] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert [m["content"] for m in history if m["role"] == "user"] == ["What is 25*8?", "thanks"]


def test_second_request_on_a_new_streaming_session_waits_its_turn(
    service: Service, sim: SimServer
) -> None:
    slow = {"content": "word " * 40, "chunk_size": 5, "chunk_delay": 0.05}
    sim.control.rule("slow one", slow)
    body = {"stream": True, "messages": [{"role": "user", "content": "slow one"}]}
    with httpx.stream(
        "POST", f"{service.url}/v1/chat/completions", json=body, timeout=30
    ) as response:
        session = response.headers["x-session-id"]
        lines = response.iter_lines()
        assert any('"content": "word' in line for line in lines)
        reply, _ = _chat(service, [{"role": "user", "content": "second"}], session)
        list(lines)
    assert reply.choices[0].message.content == "echo: second"
    history = _history(service, session)
    assert [m["content"] for m in history if m["role"] == "user"] == ["slow one", "second"]
    assert history[1]["content"].startswith("word")


def test_a_request_that_adds_nothing_creates_no_session(service: Service) -> None:
    response = httpx.post(
        f"{service.url}/v1/chat/completions",
        json={"messages": [{"role": "system", "content": "Be terse."}]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_new_message"
    assert "x-session-id" not in response.headers


def test_rename_sets_the_listed_title_and_refuses_an_empty_one(
    service: Service, sim: SimServer
) -> None:
    reply = service.client().chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "a question to rename"}]
    )
    session_id = reply.headers["x-session-id"]
    with service.http() as http:
        renamed = http.patch(f"/v1/sessions/{session_id}", json={"title": "  Trip plans "})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["title"] == "Trip plans"
        assert [m["role"] for m in renamed.json()["messages"]] == ["user", "assistant"]
        assert http.get(f"/v1/sessions/{session_id}").json()["title"] == "Trip plans"
        empty = http.patch(f"/v1/sessions/{session_id}", json={"title": "   "})
        assert empty.status_code == 400 and "title" in empty.text
        missing = http.patch("/v1/sessions/nope", json={"title": "x"})
        assert missing.status_code == 404


def test_open_mode_does_not_list_sessions(service: Service, sim: SimServer) -> None:
    """Without client keys every caller is the same anonymous owner: a listing would show
    everybody's conversations, so it is refused with a 403 saying which setting to set."""
    sim.control.script({"content": "Noted."})
    _, session = _chat(service, [{"role": "user", "content": "my private question"}])
    response = httpx.get(f"{service.url}/v1/sessions")
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "keys_required" and error["type"] == "permission_error"
    assert "API_KEY" in error["message"] and "API_KEYS" in error["message"]
    assert session not in response.text and "private" not in response.text
