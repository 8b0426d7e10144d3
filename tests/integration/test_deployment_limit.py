"""DEPLOYMENT_MAX_TURNS over three processes on one database (Postgres, and a SQLite file
shared on one host): never more turns at the model server at once than the limit (the
simulator counts the answers it is sending), the others wait or get the 429 naming the
setting, and a process killed mid-turn gives its slot back."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.service import Service, eventually
from tests.integration.test_background_cluster import cluster
from tests.integration.test_postgres import shared_store
from tests.upstream_sim.fixtures import SimServer

SLOW = {"content": "a,b,c.", "delay": 1.0}


def chat(svc: Service, text: str) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, timeout=60)


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_the_deployment_runs_at_most_its_limit_of_turns(
    kind: str, own_sim: SimServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    own_sim.control.rule("slow ", SLOW)
    limits = {"DEPLOYMENT_MAX_TURNS": "2", "QUEUE_TIMEOUT": "1.5"}
    with (
        shared_store(kind, tmp_path_factory) as url,
        cluster(own_sim, url, tmp_path, **limits) as procs,
    ):
        with ThreadPoolExecutor(9) as pool:
            answers = list(pool.map(lambda i: chat(procs[i % 3], f"slow {i}"), range(9)))
        codes = sorted(a.status_code for a in answers)
        assert set(codes) == {200, 429}, [a.text for a in answers]
        for answer in answers:
            if answer.status_code == 429:
                assert "DEPLOYMENT_MAX_TURNS" in answer.json()["error"]["message"]
                assert answer.headers["retry-after"]
            else:
                assert answer.json()["choices"][0]["message"]["content"] == "a,b,c."
        assert own_sim.control.state()["most_answering"] == 2  # never more, and it was used

        # a process killed while it holds a slot gives it back (its connection or its file
        # locks end with it): two turns still run at once on the others
        victim = procs[1]
        lost: list[Exception] = []
        started = threading.Thread(target=lambda: _cut_off(victim, lost))
        started.start()
        eventually(lambda: own_sim.control.state()["answering"] == 1, "the victim's turn runs")
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        started.join()
        assert lost and isinstance(lost[0], httpx.HTTPError)  # its client saw it die
        eventually(lambda: own_sim.control.state()["answering"] == 0, "its model call ends")
        own_sim.control.reset()
        own_sim.control.rule("slow ", SLOW)
        with ThreadPoolExecutor(2) as pool:
            pair = list(pool.map(lambda svc: chat(svc, "slow after"), [procs[0], procs[2]]))
        assert [a.status_code for a in pair] == [200, 200], [a.text for a in pair]
        assert own_sim.control.state()["most_answering"] == 2


def _cut_off(svc: Service, errors: list[Exception]) -> None:
    try:
        chat(svc, "slow killed")
    except httpx.HTTPError as exc:
        errors.append(exc)
