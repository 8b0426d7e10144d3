"""X-On-Disconnect: finish. A streamed turn whose client leaves goes on to its end and is
stored whole (the default, cancel, is tested in test_sessions.py); an unknown value is a
400 naming the header."""

from __future__ import annotations

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
