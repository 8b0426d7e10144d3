"""SESSION_CONTINUITY: a request without a session header that resends a session's whole
history continues that session, only the caller's own, only when the setting is on
(strangers behind one key: test_continuity_binding.py)."""

from __future__ import annotations

import httpx

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

KEY_A, KEY_B = "continuity-key-a", "continuity-key-b"
TOOL_TURN = (
    {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
    {"content": "It is 42."},
)
FIRST = [{"role": "user", "content": "What is 6*7?"}]
RESENT = [
    *FIRST,
    {"role": "assistant", "content": "It is 42."},
    {"role": "user", "content": "Thanks"},
]


def post(svc: Service, key: str, messages: list[dict]) -> httpx.Response:
    response = httpx.post(
        f"{svc.url}/v1/chat/completions",
        json={"model": "m", "messages": messages, "user": "the-one-user"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response


def history(svc: Service, key: str, session_id: str) -> list[dict]:
    response = httpx.get(
        f"{svc.url}/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {key}"}
    )
    return response.json()["messages"]


def test_resent_history_continues_the_callers_session(
    fresh_service: Service, sim: SimServer
) -> None:
    fresh_service.env |= {"SESSION_CONTINUITY": "true", "API_KEYS": f"{KEY_A},{KEY_B}"}
    fresh_service.start()
    sim.control.script(*TOOL_TURN)
    first = post(fresh_service, KEY_A, FIRST).headers["x-session-id"]

    again = post(fresh_service, KEY_A, RESENT)
    assert again.headers["x-session-id"] == first
    stored = history(fresh_service, KEY_A, first)
    roles = ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert [m["role"] for m in stored] == roles
    assert stored[2]["content"] == "42"  # the server tool's result is kept
    upstream = sim.control.bodies()[-1]["messages"]
    assert any(m["role"] == "tool" and m["content"] == "42" for m in upstream)

    other = post(fresh_service, KEY_B, RESENT).headers["x-session-id"]
    assert other != first
    assert [m["role"] for m in history(fresh_service, KEY_B, other)][:3] == [
        "user",
        "assistant",
        "user",
    ]

    only_first = post(fresh_service, KEY_A, FIRST).headers["x-session-id"]
    assert only_first not in (first, other)  # nothing resent: a new conversation


def test_off_by_default(fresh_service: Service, sim: SimServer) -> None:
    fresh_service.start()
    first = post(fresh_service, "any", FIRST).headers["x-session-id"]
    resent = [*FIRST, {"role": "assistant", "content": "echo: What is 6*7?"}, RESENT[-1]]
    assert post(fresh_service, "any", resent).headers["x-session-id"] != first
