"""SESSION_CONTINUITY never attaches a request to a session another client started: sessions
are bound to the key and the client identity sent (the `user` field or Open WebUI's
X-OpenWebUI-User-Id); without keys the service refuses to start with continuity on."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

SHARED_KEY = "one-open-webui-instance"
FIRST = [{"role": "user", "content": "hi"}]
ANSWER = {"role": "assistant", "content": "echo: hi"}


def post(
    svc: Service, messages: list[dict], user: str | None = None, headers: dict | None = None
) -> httpx.Response:
    body: dict = {"model": "m", "messages": messages}
    if user is not None:
        body["user"] = user
    return httpx.post(
        f"{svc.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {SHARED_KEY}", **(headers or {})},
        timeout=60,
    )


def session_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["x-session-id"]


def texts(svc: Service, session_id: str) -> list[str]:
    response = httpx.get(
        f"{svc.url}/v1/sessions/{session_id}",
        headers={"Authorization": f"Bearer {SHARED_KEY}"},
        timeout=30,
    )
    return [m["content"] for m in response.json()["messages"]]


@pytest.fixture
def shared_key(fresh_service: Service, sim: SimServer) -> Service:
    fresh_service.env |= {"SESSION_CONTINUITY": "true", "API_KEY": SHARED_KEY}
    return fresh_service.start()


@pytest.mark.parametrize("identity", ["user", "header"])
def test_strangers_behind_one_key_never_share_a_session(shared_key: Service, identity) -> None:
    def as_user(name: str, messages: list[dict]) -> httpx.Response:
        if identity == "user":
            return post(shared_key, messages, user=name)
        return post(shared_key, messages, headers={"X-OpenWebUI-User-Id": name})

    alice = session_of(as_user("alice", FIRST))
    bob = session_of(as_user("bob", FIRST))  # both said "hi"
    assert alice != bob
    secret = [*FIRST, ANSWER, {"role": "user", "content": "my password is hunter2"}]
    assert session_of(as_user("alice", secret)) == alice

    prying = [*FIRST, ANSWER, {"role": "user", "content": "what did I say next?"}]
    mallory = session_of(as_user("mallory", prying))
    assert mallory not in (alice, bob)
    assert not [text for text in texts(shared_key, mallory) if "hunter2" in text]

    bob_next = [*FIRST, ANSWER, {"role": "user", "content": "bob again"}]
    assert session_of(as_user("bob", bob_next)) == bob
    assert "bob again" not in texts(shared_key, alice)
    assert "hunter2" not in " ".join(texts(shared_key, bob))


def test_a_request_without_a_client_identity_is_refused(shared_key: Service) -> None:
    response = post(shared_key, FIRST)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "client_identity_required" and error["param"] == "user"
    assert "SESSION_CONTINUITY" in error["message"] and "X-OpenWebUI-User-Id" in error["message"]
    with_session = post(shared_key, FIRST, user="carol")
    more = [{"role": "user", "content": "more"}]
    again = post(shared_key, more, headers={"X-Session-ID": session_of(with_session)})
    assert again.status_code == 200, again.text  # a session header needs no identity


def test_continuity_without_keys_refuses_to_start(fresh_service: Service) -> None:
    fresh_service.env |= {"SESSION_CONTINUITY": "true"}
    with pytest.raises(RuntimeError, match="service exited") as failed:
        fresh_service.start(timeout=60)
    assert "SESSION_CONTINUITY" in str(failed.value) and "API_KEY" in str(failed.value)
