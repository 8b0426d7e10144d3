"""Background responses across processes on one database (Postgres, and a SQLite file
shared on one host): runs submitted to any process are run by any; a process SIGKILLed
mid-run leaves none of its runs in progress for ever, runs none twice and stores no half
turn; a resume from another process replays the events in order; BACKGROUND_MAX_RUNNING
holds for the whole deployment; a stopping process finishes what it runs."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import httpx
import openai
import psycopg
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service, eventually
from tests.integration.test_postgres import shared_store
from tests.upstream_sim.fixtures import SimServer

LEASE = 3.0  # seconds: short, so a killed process's runs end soon
RUNS = 30
CHUNKS = 20
ENDED = {"completed", "failed", "cancelled", "incomplete"}


@contextmanager
def cluster(
    sim: SimServer, url: str, root: Path, count: int = 3, **extra: str
) -> Iterator[list[Service]]:
    services = []
    for index in range(count):
        folder = root / f"p{index}"
        folder.mkdir()
        env = service_env(sim.base_url, folder, DATABASE_URL=url, **extra)
        services.append(Service({"BACKGROUND_LEASE": str(LEASE), **env}, folder))
    try:
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(Service.start, services))
        yield services
    finally:
        for svc in services:
            svc.stop()


def workers(url: str) -> dict[str, str | None]:
    """Each run's id and the worker (host:pid:tag) holding it, read from the database."""
    query = "SELECT id, worker FROM background_runs"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return dict(conn.execute(query).fetchall())
    with psycopg.connect(url) as conn:
        return dict(conn.execute(query).fetchall())


def pid_of(worker: str | None) -> int | None:
    return int(worker.split(":")[1]) if worker else None


def ended(client: openai.OpenAI, response_id: str) -> object | None:
    response = client.responses.retrieve(response_id)
    return response if response.status in ENDED else None


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_a_killed_process_loses_no_run_and_runs_none_twice(
    kind: str, own_sim: SimServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    chunks = [f"c{i}," for i in range(CHUNKS)]
    own_sim.control.rule("run ", {"content_chunks": chunks, "chunk_delay": 0.05})
    with shared_store(kind, tmp_path_factory) as url, cluster(own_sim, url, tmp_path) as procs:
        clients = [svc.client() for svc in procs]
        submitted = {}
        for index in range(RUNS):
            response = clients[index % 3].responses.create(
                model="m", input=f"run {index}", background=True
            )
            submitted[response.id] = index
        victim = procs[1]
        pid = victim.process.pid
        held = eventually(
            lambda: [r for r, w in workers(url).items() if pid_of(w) == pid] or None,
            "the process to be killed runs some",
        )
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        killed_at = time.monotonic()
        alive = [clients[0], clients[2]]

        finals = {
            rid: eventually(lambda rid=rid: ended(alive[0], rid), f"{rid} ends", 60)
            for rid in submitted
        }
        assert time.monotonic() - killed_at < 60
        statuses = {rid: r.status for rid, r in finals.items()}
        assert set(statuses.values()) <= {"completed", "failed"}, statuses
        for rid, response in finals.items():
            if response.status == "failed":
                assert rid in held, f"{rid} failed but the killed process did not hold it"
                assert response.error.code == "run_lost"
                assert "BACKGROUND_LEASE" in response.error.message
        assert any(r.status == "completed" for r in finals.values())
        assert any(statuses[rid] == "failed" for rid in held)  # killed mid-run: not stored

        asked = [
            b["messages"][-1]["content"] for b in own_sim.control.bodies("/v1/chat/completions")
        ]
        for rid, index in submitted.items():
            times = asked.count(f"run {index}")
            assert times <= 1, f"run {index} reached the model {times} times"
            if statuses[rid] == "completed":
                assert times == 1

        for rid, response in finals.items():
            session = rid.split("_", 2)[2]
            history = procs[2].http().get(f"/v1/sessions/{session}")
            messages = history.json()["messages"] if history.status_code == 200 else []
            if response.status == "completed":
                assert [m["role"] for m in messages] == ["user", "assistant"]
                assert messages[1]["content"] == "".join(chunks) == response.output_text
            else:
                assert messages == [], f"half a turn stored for {rid}"

        completed = [rid for rid, r in finals.items() if r.status == "completed"]
        for rid in completed[:3]:  # resumed from a process other than the one it was sent to
            reader = alive[1] if submitted[rid] % 3 == 0 else alive[0]
            events = list(reader.responses.retrieve(rid, stream=True, starting_after=2))
            assert [e.sequence_number for e in events] == list(range(3, 3 + len(events)))
            text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
            assert events[-1].type == "response.completed"
            assert events[-1].response.output_text == "".join(chunks)
            assert text in "".join(chunks) and "".join(chunks).endswith(text)


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_the_running_limit_holds_across_processes(
    kind: str, own_sim: SimServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    own_sim.control.rule("run ", {"content_chunks": ["a,", "b,", "c."], "chunk_delay": 0.3})
    limits = {"BACKGROUND_MAX_RUNNING": "2", "BACKGROUND_MAX_QUEUED": "6"}
    with (
        shared_store(kind, tmp_path_factory) as url,
        cluster(own_sim, url, tmp_path, **limits) as procs,
    ):
        clients = [svc.client() for svc in procs]
        accepted, refused = [], []
        for index in range(12):
            try:
                response = clients[index % 3].responses.create(
                    model="m", input=f"run {index}", background=True
                )
                accepted.append(response.id)
            except openai.RateLimitError as exc:
                assert "BACKGROUND_MAX_QUEUED" in str(exc)
                refused.append(index)
        assert len(refused) >= 12 - 2 - 6 and len(accepted) >= 6
        for rid in accepted:
            done = eventually(lambda rid=rid: ended(clients[0], rid), f"{rid} ends", 60)
            assert done.status == "completed" and done.output_text == "a,b,c."
        assert own_sim.control.state()["most_answering"] == 2  # never more, and it was used


def test_a_stopping_process_finishes_its_run_and_leaves_the_queue_to_others(
    own_sim: SimServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    own_sim.control.rule("run ", {"content_chunks": ["slow,"] * 30, "chunk_delay": 0.1})
    limit = {"BACKGROUND_MAX_RUNNING": "1"}
    with (
        shared_store("sqlite", tmp_path_factory) as url,
        cluster(own_sim, url, tmp_path, 2, **limit) as procs,
    ):
        one, two = procs
        first = one.client().responses.create(model="m", input="run first", background=True)
        eventually(lambda: pid_of(workers(url).get(first.id)) == one.process.pid, "one runs it")
        later = one.client().responses.create(model="m", input="run later", background=True)
        assert later.status == "queued"  # the deployment runs one at a time
        one.process.send_signal(signal.SIGTERM)
        done = eventually(lambda: ended(two.client(), first.id), "the run ends", 60)
        assert done.status == "completed" and done.output_text == "slow," * 30
        assert one.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        # `one` stopped claiming at SIGTERM and has exited: `two` runs what was queued
        finished = eventually(lambda: ended(two.client(), later.id), "later ends", 60)
        assert finished.status == "completed" and finished.output_text == "slow," * 30


def test_a_chat_turn_is_watched_and_cancelled_from_another_process(
    own_sim: SimServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    own_sim.control.rule("run ", {"content_chunks": ["slow,"] * 60, "chunk_delay": 0.1})
    with (
        shared_store("postgres", tmp_path_factory) as url,
        cluster(own_sim, url, tmp_path, 2) as procs,
    ):
        one, two = procs
        body = {"stream": True, "messages": [{"role": "user", "content": "run watched"}]}
        with httpx.stream(
            "POST",
            f"{one.url}/v1/chat/completions",
            json=body,
            headers={"X-On-Disconnect": "finish"},
            timeout=30,
        ) as response:
            session = response.headers["x-session-id"]
            next(response.iter_lines())  # the turn has begun; the client leaves
        with httpx.stream("GET", f"{two.url}/v1/sessions/{session}/live", timeout=30) as live:
            assert live.status_code == 200
            lines = live.iter_lines()
            seen = list(islice((line for line in lines if "slow," in line), 3))
            assert len(seen) == 3  # followed from the other process while it runs
            cancel = httpx.post(f"{two.url}/v1/sessions/{session}/live/cancel", timeout=30)
            assert cancel.json()["cancelled"] is True
            rest = list(lines)
        assert any('"code": "cancelled"' in line for line in rest) and rest[-2] == "data: [DONE]"
        history = httpx.get(f"{one.url}/v1/sessions/{session}", timeout=30).json()
        assert history["messages"] == []  # stopped by its own process, rolled back
