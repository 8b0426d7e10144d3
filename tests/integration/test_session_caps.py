"""A key's sessions are bounded (MAX_SESSIONS_PER_KEY), listed a page at a time
(GET /v1/sessions: limit, after, order, has_more, first_id, last_id), and the
continuity scan takes a turn slot like a turn."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

KEY_A, KEY_B = "caps-key-a", "caps-key-b"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(svc: Service, key: str, text: str, **extra) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": text}], **extra}
    url = f"{svc.url}/v1/chat/completions"
    return httpx.post(url, json=body, headers=auth(key), timeout=120)


def listing(svc: Service, key: str, **params) -> httpx.Response:
    return httpx.get(f"{svc.url}/v1/sessions", params=params, headers=auth(key), timeout=30)


def test_sessions_are_listed_a_page_at_a_time(sim: SimServer, tmp_path: Path) -> None:
    svc = Service(service_env(sim.base_url, tmp_path, API_KEY=KEY_A), tmp_path).start()
    try:
        made = [chat(svc, KEY_A, f"conversation {i}").headers["x-session-id"] for i in range(23)]
        first = listing(svc, KEY_A).json()
        assert len(first["data"]) == 20 and first["has_more"] is True  # the default page
        assert [s["id"] for s in first["data"]] == made[:20]
        assert (first["first_id"], first["last_id"]) == (made[0], made[19])
        rest = listing(svc, KEY_A, after=first["last_id"]).json()
        assert [s["id"] for s in rest["data"]] == made[20:] and rest["has_more"] is False

        newest, after = [], None
        while True:
            page = listing(svc, KEY_A, limit=5, order="desc", **({"after": after} if after else {}))
            body = page.json()
            newest += [s["id"] for s in body["data"]]
            if not body["has_more"]:
                break
            after = body["last_id"]
        assert newest == made[::-1]

        for bad in ({"limit": 0}, {"limit": 101}, {"order": "sideways"}, {"after": "nope"}):
            refused = listing(svc, KEY_A, **bad)
            assert refused.status_code == 400, (bad, refused.text)
            assert refused.json()["error"]["param"] in ("query.limit", "query.order", "after")
    finally:
        svc.stop()


def test_a_key_has_at_most_max_sessions_per_key(sim: SimServer, tmp_path: Path) -> None:
    env = service_env(sim.base_url, tmp_path, API_KEYS=f"{KEY_A},{KEY_B}", MAX_SESSIONS_PER_KEY="2")
    svc = Service(env, tmp_path).start()
    try:
        kept = [chat(svc, KEY_A, f"session {i}").headers["x-session-id"] for i in range(2)]
        refused = chat(svc, KEY_A, "one too many")
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "session_limit_exceeded"
        assert "MAX_SESSIONS_PER_KEY" in error["message"]
        assert len(listing(svc, KEY_A).json()["data"]) == 2
        assert chat(svc, KEY_B, "another key").status_code == 200
        on_kept = httpx.post(
            f"{svc.url}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "go on"}]},
            headers=auth(KEY_A) | {"X-Session-ID": kept[0]},
            timeout=60,
        )
        assert on_kept.status_code == 200, on_kept.text  # existing sessions go on
        deleted = httpx.delete(f"{svc.url}/v1/sessions/{kept[1]}", headers=auth(KEY_A))
        assert deleted.status_code == 200
        assert chat(svc, KEY_A, "room again").status_code == 200
    finally:
        svc.stop()


def test_the_continuity_scan_waits_for_a_slot(sim: SimServer, tmp_path: Path) -> None:
    """With the one slot taken, a header-less continuity request is refused by the limit
    (429) before it looks at any session, not by the busy session it would continue (409)."""
    env = service_env(
        sim.base_url,
        tmp_path,
        API_KEY=KEY_A,
        LLM_TIMEOUT="60",
        SESSION_CONTINUITY="true",
        MAX_CONCURRENT_TURNS="1",
        MAX_QUEUED_TURNS="0",
        SESSION_LOCK_TIMEOUT="0",
    )
    svc = Service(env, tmp_path).start()
    try:
        first = [{"role": "user", "content": "hi"}]
        session = chat(svc, KEY_A, "hi", user="u").headers["x-session-id"]
        sim.control.rule("slow", {"content": "done slowly", "delay": 6.0})
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(
                httpx.post,
                f"{svc.url}/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "slow"}]},
                headers=auth(KEY_A) | {"X-Session-ID": session},
                timeout=120,
            )
            deadline = time.monotonic() + 60
            while httpx.get(f"{svc.url}/queue/status").json()["running"] != 1:
                assert time.monotonic() < deadline, "the slow turn never started"
                time.sleep(0.05)
            resent = [*first, {"role": "assistant", "content": "echo: hi"}]
            resent.append({"role": "user", "content": "and then?"})
            scan = httpx.post(
                f"{svc.url}/v1/chat/completions",
                json={"model": "m", "messages": resent, "user": "u"},
                headers=auth(KEY_A),
                timeout=60,
            )
            assert scan.status_code == 429, scan.text
            assert scan.json()["error"]["code"] == "rate_limit_exceeded"
            assert slow.result().status_code == 200
    finally:
        svc.stop()
