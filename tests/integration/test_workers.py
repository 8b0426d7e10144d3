"""`oss-agent serve --workers N`: several worker processes on one port, sharing sessions in
one SQLite file or one Postgres database (not in memory)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import OSS_AGENT, Service
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable
from tests.upstream_sim.fixtures import SimServer


def test_workers_on_sessions_in_memory_are_refused(tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": "memory://"}
    result = subprocess.run(
        [OSS_AGENT, "serve", "--workers", "2"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers" in result.stderr and "SQLite or Postgres" in result.stderr


def test_a_workers_value_that_is_not_a_count_is_refused(tmp_path) -> None:
    result = subprocess.run(
        [OSS_AGENT, "serve", "--workers", "many"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "give a number of at least 1, or auto" in result.stderr


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sessions.db'}"
        return
    if (why := unreachable(POSTGRES_URL)) is not None:
        pytest.skip(f"no PostgreSQL at TEST_POSTGRES_URL: {why}")
    with scratch_database(POSTGRES_URL) as url:
        yield url


@pytest.mark.timeout(480)
def test_two_workers_serve_one_session(sim: SimServer, database: str, tmp_path) -> None:
    env = service_env(sim.base_url, tmp_path, DATABASE_URL=database)
    service = Service(env, tmp_path, args=["--workers", "2"]).start()
    try:
        assert service.process is not None
        workers = psutil.Process(service.process.pid).children(recursive=True)
        assert len([w for w in workers if "python" in w.name().lower()]) >= 2
        sim.control.script({"content": "first answer"}, {"content": "second answer"})
        client = service.client()
        messages = [{"role": "user", "content": "one"}]
        first = client.chat.completions.with_raw_response.create(model="m", messages=messages)
        session = first.headers["x-session-id"]
        second = client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "two"}],
            extra_headers={"X-Session-ID": session},
            stream=True,
        )
        text = "".join(c.choices[0].delta.content or "" for c in second if c.choices)
        assert first.parse().choices[0].message.content == "first answer"
        assert text == "second answer"
        stored = service.http().get(f"/v1/sessions/{session}").json()
        assert [m["content"] for m in stored["messages"]][-4:] == [
            "one",
            "first answer",
            "two",
            "second answer",
        ]
    finally:
        service.stop()


TURNS_OK = re.compile(r'^oss_agent_turns_total\{outcome="ok"\} (\S+)$', re.M)


@pytest.mark.timeout(480)
def test_metrics_add_up_over_the_workers_whichever_answers(sim: SimServer, tmp_path) -> None:
    env = service_env(sim.base_url, tmp_path)  # the default: SQLite
    service = Service(env, tmp_path, args=["--workers", "2"]).start()
    try:
        turns = 12
        for index in range(turns):  # a connection each: the kernel spreads them over workers
            body = {"model": "m", "messages": [{"role": "user", "content": f"turn {index}"}]}
            response = httpx.post(f"{service.url}/v1/chat/completions", json=body, timeout=60)
            assert response.status_code == 200, response.text
        for _ in range(10):
            scraped = httpx.get(f"{service.url}/metrics", timeout=30).text
            assert [float(n) for n in TURNS_OK.findall(scraped)] == [turns], scraped[:2000]
            assert "oss_agent_turns_running 0.0" in scraped
    finally:
        service.stop()
