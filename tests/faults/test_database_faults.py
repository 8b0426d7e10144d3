"""The database fails, the service does not: a lost Postgres, a failing, deleted or shared
SQLite file. Real processes throughout: the service, the simulator, Postgres behind a proxy
the test cuts and restores."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.tcp_proxy import TcpProxy
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_postgres import POSTGRES_URL, chat, scratch_database, unreachable
from tests.upstream_sim.fixtures import SimServer

RECOVERY = 60  # seconds a recovered database may take to be used again


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable", response.text
    assert response.headers["x-should-retry"] == "true"


def _until_ok(send, what: str) -> httpx.Response:
    """Repeat `send()` until it answers 200 (the pools reconnect in the background)."""
    deadline = time.monotonic() + RECOVERY
    while True:
        response = send()
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, f"{what} did not recover: {response.text}"
            return response
        time.sleep(0.5)


def _sqlite_service(sim: SimServer, workdir: Path) -> Service:
    return Service(service_env(sim.base_url, workdir, READY_CACHE_SECONDS="0"), workdir)


@pytest.fixture
def sqlite_service(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    svc = _sqlite_service(sim, tmp_path).start()
    yield svc
    svc.stop()


def test_deleting_the_sqlite_file_is_noticed(sqlite_service: Service, tmp_path: Path) -> None:
    session = chat(sqlite_service, "remember me").headers["x-session-id"]
    assert httpx.get(f"{sqlite_service.url}/ready").status_code == 200
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'sessions.db'}{suffix}").unlink(missing_ok=True)
    ready = httpx.get(f"{sqlite_service.url}/ready")
    assert ready.status_code == 503
    assert "was deleted" in ready.json()["database"]["error"]
    _unavailable(chat(sqlite_service, "a turn into the void", session))
    _unavailable(chat(sqlite_service, "a new session too"))
    _unavailable(httpx.get(f"{sqlite_service.url}/v1/sessions/{session}"))
    assert not (tmp_path / "sessions.db").exists()  # nothing wrote a new file either
    sqlite_service.stop()
    assert f"the SQLite file {tmp_path / 'sessions.db'} was deleted" in sqlite_service.output()


def test_a_sqlite_write_error_is_503_and_passes(sqlite_service: Service) -> None:
    session = chat(sqlite_service, "before the disk fills").headers["x-session-id"]
    pid = sqlite_service.process.pid
    unlimited = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    # Writes past the first byte of any file now fail (EFBIG): SQLite reports an I/O error.
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, unlimited[1]))
    try:
        _unavailable(chat(sqlite_service, "while the disk is full", session))
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)
    assert chat(sqlite_service, "after", session).status_code == 200
    history = httpx.get(f"{sqlite_service.url}/v1/sessions/{session}").json()["messages"]
    users = [m["content"] for m in history if m["role"] == "user"]
    assert users == ["before the disk fills", "after"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    reason = unreachable(POSTGRES_URL)
    if reason:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {reason}")
    with scratch_database(POSTGRES_URL) as url:
        yield url


@pytest.mark.postgres
def test_postgres_lost_and_back_without_a_restart(
    sim: SimServer, postgres_url: str, tmp_path: Path
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    through_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = service_env(
        sim.base_url,
        tmp_path,
        DATABASE_URL=through_proxy,
        READY_CACHE_SECONDS="0",
        DB_CONNECT_TIMEOUT="2",
    )
    svc = Service(env, tmp_path).start()
    try:
        session = chat(svc, "before the outage").headers["x-session-id"]
        proxy.cut()
        _unavailable(chat(svc, "during the outage", session))
        _unavailable(chat(svc, "a new session during the outage"))
        streamed = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "s"}]}
        _unavailable(httpx.post(f"{svc.url}/v1/chat/completions", json=streamed, timeout=60))
        _unavailable(httpx.get(f"{svc.url}/v1/sessions/{session}", timeout=60))
        ready = httpx.get(f"{svc.url}/ready", timeout=60)
        assert ready.status_code == 503 and ready.json()["database"]["ok"] is False
        proxy.restore()
        _until_ok(lambda: chat(svc, "after the outage", session), "a turn")
        _until_ok(lambda: httpx.get(f"{svc.url}/ready", timeout=60), "/ready")
        history = httpx.get(f"{svc.url}/v1/sessions/{session}").json()["messages"]
        users = [m["content"] for m in history if m["role"] == "user"]
        assert users == ["before the outage", "after the outage"]
    finally:
        svc.stop()
        proxy.cut()
    assert "Traceback" not in svc.output()
