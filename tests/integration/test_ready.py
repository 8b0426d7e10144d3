"""/ready: checked at most once per READY_CACHE_SECONDS, and without a key only ok/not ready
(no upstream URL, no database error text)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer, free_port

CLIENT_KEY = "ready-client-key"
ADMIN_KEY = "ready-admin-key"
URL_SECRET = "url-secret-9f3"  # a password in LLM_BASE_URL


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _keyed_service(upstream: str, workdir: Path, cache: str) -> Service:
    env = service_env(
        upstream,
        workdir,
        API_KEY=CLIENT_KEY,
        ADMIN_API_KEY=ADMIN_KEY,
        READY_CACHE_SECONDS=cache,
    )
    return Service(env, workdir)


@pytest.fixture(scope="module")
def keyed(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Keys on; the upstream URL carries a password; /ready cached for a minute."""
    upstream = sim_server.base_url.replace("http://", f"http://ready:{URL_SECRET}@")
    svc = _keyed_service(upstream, tmp_path_factory.mktemp("ready"), "60").start()
    yield svc
    svc.stop()


def test_twenty_calls_ask_the_model_server_once(keyed: Service, sim: SimServer) -> None:
    def ready(_: int) -> int:
        return httpx.get(f"{keyed.url}/ready", headers=_auth(CLIENT_KEY), timeout=30).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(ready, range(20)))
    assert statuses == [200] * 20
    assert 1 <= len(sim.control.requests("/v1/models")) <= 2  # 2: the start-up probe


def test_without_a_key_only_the_status(keyed: Service) -> None:
    for headers in ({}, _auth("not-a-key"), _auth(CLIENT_KEY[:-1])):
        response = httpx.get(f"{keyed.url}/ready", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    for key in (CLIENT_KEY, ADMIN_KEY):
        response = httpx.get(f"{keyed.url}/ready", headers=_auth(key))
        body = response.json()
        assert body["status"] == "ready" and body["database"] == {"ok": True}
        assert body["upstream"]["backends"][0]["url"].startswith("http://ready:****@")
        assert URL_SECRET not in response.text


def test_not_ready_without_a_key_says_only_that(tmp_path: Path) -> None:
    nothing_listens = f"http://ready:{URL_SECRET}@127.0.0.1:{free_port()}/v1"
    svc = _keyed_service(nothing_listens, tmp_path, "0").start()
    try:
        bare = httpx.get(f"{svc.url}/ready")
        detailed = httpx.get(f"{svc.url}/ready", headers=_auth(CLIENT_KEY))
    finally:
        svc.stop()
    assert bare.status_code == 503 and bare.json() == {"status": "not ready"}
    assert detailed.status_code == 503
    body = detailed.json()
    assert body["upstream"]["ok"] is False and body["upstream"]["backends"][0]["error"]
    assert URL_SECRET not in detailed.text and URL_SECRET not in svc.output()
