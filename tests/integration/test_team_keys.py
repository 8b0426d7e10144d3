"""Keys own their sessions: another key gets the 404 of a missing session on every
operation and lists only its own, on SQLite and on Postgres, across a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable
from tests.upstream_sim.fixtures import SimServer

KEY_A, KEY_B, KEY_C, ADMIN = "key-alice-1", "key-bob-22", "key-carol-333", "key-admin-4444"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(svc: Service, key: str, text: str, session: str | None = None) -> httpx.Response:
    headers = _auth(key) | ({"X-Session-ID": session} if session else {})
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=60)


def operations(svc: Service, key: str, session: str) -> dict[str, httpx.Response]:
    """Every operation on a session, as `key`."""
    with httpx.Client(base_url=svc.url, headers=_auth(key), timeout=60) as http:
        return {
            "read": http.get(f"/v1/sessions/{session}"),
            "rename": http.patch(f"/v1/sessions/{session}", json={"title": "mine now"}),
            "continue": chat(svc, key, "let me in", session),
            "reset": http.post(f"/v1/sessions/{session}/reset"),
            "delete": http.delete(f"/v1/sessions/{session}"),
        }


def listing(svc: Service, key: str) -> list[dict]:
    response = httpx.get(f"{svc.url}/v1/sessions", headers=_auth(key), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'team.db'}"
        return
    reason = unreachable(POSTGRES_URL)
    if reason:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {reason}")
    with scratch_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def team(sim: SimServer, tmp_path: Path, database_url: str) -> Iterator[Service]:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# team keys\n{KEY_B} bob\n\n{KEY_C} carol\n")
    env = service_env(
        sim.base_url,
        tmp_path,
        DATABASE_URL=database_url,
        API_KEY=KEY_A,
        API_KEYS_FILE=str(keys),
        ADMIN_API_KEY=ADMIN,
    )
    svc = Service(env, tmp_path).start()
    yield svc
    svc.stop()


def test_other_keys_cannot_reach_a_session(team: Service) -> None:
    first = chat(team, KEY_A, "Plan the offsite in Lisbon for twelve people next spring")
    assert first.status_code == 200, first.text
    session = first.headers["x-session-id"]
    missing = {name: r.json() for name, r in operations(team, KEY_B, "no-such-session").items()}
    for name, response in operations(team, KEY_B, session).items():
        assert response.status_code == 404, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "session_not_found", name
        assert error == {**missing[name]["error"], "message": error["message"]}
        assert "x-session-id" not in response.headers or name == "continue"
    own = listing(team, KEY_A)
    assert [s["id"] for s in own] == [session]
    assert own[0]["message_count"] == 2
    assert own[0]["title"] == "Plan the offsite in Lisbon for twelve people …"
    assert own[0]["last_active"] >= own[0]["created"] > 0
    assert listing(team, KEY_B) == []

    theirs = chat(team, KEY_B, "hello from bob").headers["x-session-id"]
    team.restart()  # ownership is stored beside the checkpoints
    assert [s["id"] for s in listing(team, KEY_B)] == [theirs]
    assert [s["id"] for s in listing(team, KEY_C)] == []
    assert all(r.status_code == 404 for r in operations(team, KEY_C, theirs).values())
    history = httpx.get(f"{team.url}/v1/sessions/{session}", headers=_auth(KEY_A))
    assert history.json()["messages"][0]["content"].startswith("Plan the offsite")
    gone = httpx.delete(f"{team.url}/v1/sessions/{session}", headers=_auth(KEY_A))
    assert gone.status_code == 200
    assert listing(team, KEY_A) == []


def test_wrong_keys_are_refused_and_never_shown(team: Service) -> None:
    for headers in ({}, _auth("key-alice-2"), _auth(KEY_A[:-1])):
        response = httpx.get(f"{team.url}/v1/sessions", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"
    assert chat(team, ADMIN, "admins may chat too").status_code == 200
    shown = [
        httpx.get(f"{team.url}{path}", headers=_auth(KEY_A)).text
        for path in ("/ready", "/metrics", "/v1/backends", "/queue/status")
    ]
    team.stop()
    for text in [*shown, team.output()]:
        for key in (KEY_A, KEY_B, KEY_C, ADMIN):
            assert key not in text
