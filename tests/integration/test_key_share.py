"""KEY_TURN_SHARE: with several client keys, one key holds at most its share of the running
turns and of the queue; another key is still served while it is at its share."""

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

BUSY, OTHER = "share-busy-key", "share-other-key"
RUNNING, QUEUED = 2, 2


def chat(svc: Service, key: str, text: str) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=120)


def status(svc: Service) -> dict:
    return httpx.get(f"{svc.url}/queue/status", timeout=30).json()


def wait_until(svc: Service, predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(status(svc)):
            return
        time.sleep(0.05)
    raise AssertionError(f"the queue never got there: {status(svc)}")


@pytest.fixture
def shared(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    env = service_env(
        sim.base_url,
        tmp_path,
        API_KEYS=f"{BUSY},{OTHER}",
        LLM_TIMEOUT="60",
        MAX_CONCURRENT_TURNS=str(RUNNING),
        MAX_QUEUED_TURNS=str(QUEUED),
        QUEUE_TIMEOUT="60",
        KEY_TURN_SHARE="0.5",
    )
    svc = Service(env, tmp_path).start()
    yield svc
    svc.stop()


def test_one_key_cannot_take_every_slot(shared: Service, sim: SimServer) -> None:
    sim.control.rule("slow", {"content": "done slowly", "delay": 6.0})
    with ThreadPoolExecutor(RUNNING + QUEUED) as pool:
        running = pool.submit(chat, shared, BUSY, "slow 0")
        wait_until(shared, lambda s: s["running"] == 1)
        queued = pool.submit(chat, shared, BUSY, "slow 1")
        wait_until(shared, lambda s: s["queued"] == 1)
        refused = [chat(shared, BUSY, f"slow {i}") for i in (2, 3)]
        other = chat(shared, OTHER, "my turn")
        answers = [running.result(), queued.result()]
    for response in refused:
        assert response.status_code == 429, response.text
        error = response.json()["error"]
        assert error["code"] == "rate_limit_exceeded" and "KEY_TURN_SHARE" in error["message"]
        assert response.headers["x-should-retry"] == "true"
    assert other.status_code == 200, other.text
    assert other.json()["choices"][0]["message"]["content"] == "echo: my turn"
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert (status(shared)["running"], status(shared)["queued"]) == (0, 0)


def test_a_single_key_keeps_every_slot(sim: SimServer, tmp_path: Path) -> None:
    """The share applies among keys: one key alone may use the whole limit."""
    env = service_env(
        sim.base_url,
        tmp_path,
        API_KEY=BUSY,
        LLM_TIMEOUT="60",
        MAX_CONCURRENT_TURNS=str(RUNNING),
        MAX_QUEUED_TURNS="0",
        KEY_TURN_SHARE="0.5",
    )
    svc = Service(env, tmp_path).start()
    try:
        sim.control.rule("slow", {"content": "done slowly", "delay": 4.0})
        with ThreadPoolExecutor(RUNNING) as pool:
            answers = [pool.submit(chat, svc, BUSY, f"slow {i}") for i in range(RUNNING)]
            wait_until(svc, lambda s: s["running"] == RUNNING)
            assert [a.result().status_code for a in answers] == [200] * RUNNING
    finally:
        svc.stop()
