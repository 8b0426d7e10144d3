"""X-On-Disconnect: finish. A streamed turn whose client leaves goes on to its end and is
stored whole (the default, cancel, is tested in test_sessions.py); an unknown value is a
400 naming the header."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.service import Service, eventually
from tests.upstream_sim.fixtures import SimServer

ANSWER = "word " * 59 + "word"  # 60 events 50 ms apart: 3 s
SLOW = {"content": ANSWER, "chunk_size": 5, "chunk_delay": 0.05}


def _leave_after_the_first_words(svc: Service, path: str, body: dict, headers: dict) -> str:
    with httpx.stream(
        "POST", f"{svc.url}{path}", json=body, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200, response.read()
        assert any("word" in line for line in response.iter_lines())
        return response.headers["x-session-id"]


def _stored_answer(svc: Service, session: str) -> str | None:
    messages = httpx.get(f"{svc.url}/v1/sessions/{session}").json()["messages"]
    return messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" else None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"stream": True, "messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses", {"stream": True, "input": "hi"}),
    ],
)
def test_a_turn_asked_to_finish_is_stored_after_its_client_left(
    service: Service, sim: SimServer, path: str, body: dict
) -> None:
    sim.control.script(SLOW)
    session = _leave_after_the_first_words(service, path, body, {"X-On-Disconnect": "finish"})
    stored = eventually(lambda: _stored_answer(service, session), "the answer is stored", 20)
    assert stored == ANSWER
    assert len(sim.control.requests("/v1/chat/completions")) == 1


def test_an_unknown_on_disconnect_value_is_named(service: Service) -> None:
    body = {"stream": True, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(
        f"{service.url}/v1/chat/completions", json=body, headers={"X-On-Disconnect": "keep"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "X-On-Disconnect" and "'finish'" in error["message"]


def _watch(svc: Service, session: str, after: int = -1) -> list[tuple[int | None, dict | str]]:
    """The chunks of GET /v1/sessions/{id}/live: (SSE id, parsed data) each."""
    chunks: list[tuple[int | None, dict | str]] = []
    with httpx.stream(
        "GET", f"{svc.url}/v1/sessions/{session}/live?starting_after={after}", timeout=30
    ) as response:
        assert response.status_code == 200, response.read()
        seq = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                data = line[6:]
                chunks.append((seq, data if data == "[DONE]" else json.loads(data)))
                seq = None
    return chunks


def _text(chunks: list[tuple[int | None, dict | str]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for _, c in chunks
        if isinstance(c, dict) and c.get("choices")
    )


CHAT = {"stream": True, "messages": [{"role": "user", "content": "hi"}]}
FINISH = {"X-On-Disconnect": "finish"}


def test_a_finishing_chat_turn_is_watched_again_from_any_chunk(
    service: Service, sim: SimServer
) -> None:
    sim.control.script(SLOW)
    session = _leave_after_the_first_words(service, "/v1/chat/completions", CHAT, FINISH)
    everything = _watch(service, session)  # replayed from the start, then live to the end
    assert everything[-1][1] == "[DONE]"
    numbers = [seq for seq, _ in everything]
    assert numbers == list(range(len(numbers)))
    assert _text(everything) == ANSWER == _stored_answer(service, session)  # streamed == stored
    rest = _watch(service, session, after=9)
    assert rest == everything[10:]


def test_a_watched_turn_can_be_cancelled_and_nothing_is_stored(
    service: Service, sim: SimServer
) -> None:
    sim.control.script(SLOW)
    session = _leave_after_the_first_words(service, "/v1/chat/completions", CHAT, FINISH)
    cancel = httpx.post(f"{service.url}/v1/sessions/{session}/live/cancel", timeout=30)
    assert cancel.status_code == 200 and cancel.json()["cancelled"] is True
    chunks = _watch(service, session)
    assert chunks[-1] == (None, "[DONE]")
    assert chunks[-2][1]["error"]["code"] == "cancelled"
    history = httpx.get(f"{service.url}/v1/sessions/{session}").json()
    assert history["messages"] == []  # rolled back
    again = httpx.post(f"{service.url}/v1/sessions/{session}/live/cancel", timeout=30)
    assert again.json()["cancelled"] is False


def test_a_turn_that_was_not_asked_to_finish_is_not_watchable(
    service: Service, sim: SimServer
) -> None:
    sim.control.script({"content": "short"})
    with httpx.stream("POST", f"{service.url}/v1/chat/completions", json=CHAT) as response:
        session = response.headers["x-session-id"]
        response.read()
    watched = httpx.get(f"{service.url}/v1/sessions/{session}/live", timeout=30)
    assert watched.status_code == 204
    assert httpx.get(f"{service.url}/v1/sessions/nosuch/live").status_code == 404
