"""The turn limit: a burst beyond MAX_CONCURRENT_TURNS + MAX_QUEUED_TURNS gets 429s,
the admitted turns all complete, and nothing of a refused turn is stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

KEY = "queue-test-key"
RUNNING, QUEUED, BURST = 2, 2, 10
SLOW = 8.0  # seconds the simulator sits on each slow reply (long enough to watch the queue)


def _post(svc: Service, text: str, stream: bool = False) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": text}], "stream": stream}
    headers = {"Authorization": f"Bearer {KEY}"}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=120)


def _status(svc: Service) -> dict:
    return httpx.get(f"{svc.url}/queue/status", timeout=30).json()


@pytest.fixture
def limited(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    env = service_env(
        sim.base_url,
        tmp_path,
        API_KEY=KEY,
        LLM_TIMEOUT="60",
        MAX_CONCURRENT_TURNS=str(RUNNING),
        MAX_QUEUED_TURNS=str(QUEUED),
        QUEUE_TIMEOUT="120",
    )
    svc = Service(env, tmp_path).start()
    yield svc
    svc.stop()


def _wait_for(svc: Service, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _status(svc)
        if predicate(status):
            return status
        time.sleep(0.05)
    raise AssertionError(f"queue never reached the expected state: {_status(svc)}")


def test_burst_beyond_the_limit(limited: Service, sim: SimServer) -> None:
    sim.control.rule("slow", {"content": "done slowly", "delay": SLOW})
    with ThreadPoolExecutor(BURST) as pool:
        first = [pool.submit(_post, limited, f"slow {i}", i % 2 == 0) for i in range(RUNNING)]
        full = _wait_for(limited, lambda s: s["running"] == RUNNING)
        queued = [pool.submit(_post, limited, f"slow q{i}") for i in range(QUEUED)]
        status = _wait_for(limited, lambda s: s["queued"] == QUEUED)
        refused = [_post(limited, f"slow r{i}") for i in range(BURST - RUNNING - QUEUED)]
        admitted = [f.result() for f in first + queued]
    assert full["max_running"] == RUNNING and status["max_queued"] == QUEUED
    assert status["oldest_wait_seconds"] >= 0
    for response in refused:
        assert response.status_code == 429, response.text
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        assert response.headers["x-should-retry"] == "true"
        assert int(response.headers["retry-after"]) >= 1
        assert "x-session-id" not in response.headers
    assert all(r.status_code == 200 for r in admitted), [r.text for r in admitted]
    sessions = httpx.get(
        f"{limited.url}/v1/sessions", headers={"Authorization": f"Bearer {KEY}"}
    ).json()["data"]
    assert len(sessions) == RUNNING + QUEUED
    assert all(s["message_count"] == 2 for s in sessions)
    asked = [b["messages"][-1]["content"] for b in sim.control.bodies()]
    assert not [text for text in asked if text.startswith("slow r")]
    after = _status(limited)
    assert (after["running"], after["queued"]) == (0, 0)
    auth = {"Authorization": f"Bearer {KEY}"}  # /ready's details are for callers with a key
    ready = httpx.get(f"{limited.url}/ready", headers=auth).json()["queue"]
    assert ready["max_running"] == RUNNING
    metrics = httpx.get(f"{limited.url}/metrics").text
    assert "oss_agent_turns_running 0.0" in metrics and "oss_agent_turns_queued 0.0" in metrics


def test_queue_timeout(sim: SimServer, tmp_path: Path) -> None:
    env = service_env(
        sim.base_url,
        tmp_path,
        LLM_TIMEOUT="60",
        MAX_CONCURRENT_TURNS="1",
        MAX_QUEUED_TURNS="5",
        QUEUE_TIMEOUT="0.5",
    )
    svc = Service(env, tmp_path).start()
    try:
        session = _post(svc, "an existing session").headers["x-session-id"]
        sim.control.rule("hold", {"content": "held", "delay": 10.0})
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(_post, svc, "hold the slot")
            _wait_for(svc, lambda s: s["running"] == 1)
            waited = _post(svc, "too late")
            assert waited.status_code == 429
            assert "QUEUE_TIMEOUT" in waited.json()["error"]["message"]
            on_session = httpx.post(
                f"{svc.url}/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "too late too"}]},
                headers={"X-Session-ID": session},
                timeout=120,
            )
            assert on_session.status_code == 429, on_session.text  # refused after its lock
            assert held.result().status_code == 200
        assert _status(svc)["queued"] == 0
        history = httpx.get(f"{svc.url}/v1/sessions/{session}", timeout=30).json()["messages"]
        assert [m["content"] for m in history if m["role"] == "user"] == ["an existing session"]
        again = httpx.post(  # the refused turn left the session unlocked
            f"{svc.url}/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "now"}]},
            headers={"X-Session-ID": session},
            timeout=120,
        )
        assert again.status_code == 200, again.text
    finally:
        svc.stop()


def test_a_turn_waiting_for_its_session_holds_no_slot(sim: SimServer, tmp_path: Path) -> None:
    """Turn 2 on a busy session waits for the session, not in a slot: a turn on another
    session still runs instead of timing out in the queue."""
    env = service_env(
        sim.base_url,
        tmp_path,
        API_KEY=KEY,
        LLM_TIMEOUT="60",
        MAX_CONCURRENT_TURNS="2",
        MAX_QUEUED_TURNS="4",
        QUEUE_TIMEOUT="2",
        SESSION_LOCK_TIMEOUT="60",
    )
    svc = Service(env, tmp_path).start()
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        session = _post(svc, "hello").headers["x-session-id"]
        sim.control.rule("slow", {"content": "done slowly", "delay": SLOW})

        def on_session(text: str) -> httpx.Response:
            body = {"model": "m", "messages": [{"role": "user", "content": text}]}
            with_session = headers | {"X-Session-ID": session}
            url = f"{svc.url}/v1/chat/completions"
            return httpx.post(url, json=body, headers=with_session, timeout=120)

        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(on_session, "slow turn")
            _wait_for(svc, lambda s: s["running"] == 1)
            second = pool.submit(on_session, "next turn")
            time.sleep(1.0)  # let the second turn reach the session lock first
            other = _post(svc, "a turn on another session")
            assert other.status_code == 200, other.text
            assert first.result().status_code == 200
            assert second.result().status_code == 200, second.result().text
    finally:
        svc.stop()


def test_postgres_lock_pool_does_not_cap_turns_below_the_limit(
    sim: SimServer, tmp_path: Path
) -> None:
    """With DB_POOL_SIZE below MAX_CONCURRENT_TURNS every admitted turn still gets a session
    lock: the queue is the one limit, never a 503 `too_many_turns` from the lock pool."""
    from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable

    if reason := unreachable(POSTGRES_URL):
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {reason}")
    turns = 4
    with scratch_database(POSTGRES_URL) as url:
        env = service_env(
            sim.base_url,
            tmp_path,
            API_KEY=KEY,
            DATABASE_URL=url,
            LLM_TIMEOUT="60",
            DB_POOL_SIZE="2",
            MAX_CONCURRENT_TURNS=str(turns),
            MAX_QUEUED_TURNS=str(turns),
            SESSION_LOCK_TIMEOUT="3",
        )
        svc = Service(env, tmp_path).start(timeout=120)
        try:
            sim.control.rule("slow", {"content": "done slowly", "delay": 6.0})
            with ThreadPoolExecutor(turns) as pool:
                answers = [pool.submit(_post, svc, f"slow {i}") for i in range(turns)]
                running = _wait_for(svc, lambda s: s["running"] == turns)
                results = [a.result() for a in answers]
            assert running["queued"] == 0
            assert [r.status_code for r in results] == [200] * turns, [r.text for r in results]
        finally:
            svc.stop()
