"""Backends registered at run time are the whole deployment's: two service processes on one
database (a SQLite file, or Postgres), a backend registered on one serves requests on the
other within BACKEND_SYNC_INTERVAL, one removed on either is gone from both, and a process
started later serves what was registered before it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service, eventually
from tests.integration.test_postgres import shared_store
from tests.integration.test_team_backends import ADMIN, MODEL, Sim, chat, simulator

SYNC = "0.3"
WITHIN = 15.0  # seconds: far above SYNC, for a loaded machine
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def service(workdir: Path, name: str, url: str, sim: Sim) -> Service:
    folder = workdir / name
    folder.mkdir()
    backends = folder / "backends.json"
    backends.write_text(json.dumps([{"name": "a", "base_url": sim.url, "models": [MODEL]}]))
    env = service_env(
        sim.url,
        folder,
        DATABASE_URL=url,
        LLM_BACKENDS_FILE=str(backends),
        BACKEND_SYNC_INTERVAL=SYNC,
        ADMIN_API_KEY=ADMIN,
    )
    return Service(env, folder)


def serves(svc: Service, model: str) -> bool:
    return chat(svc, "which backend?", model=model).status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_backend_registered_on_one_process_serves_on_the_others(
    kind: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with simulator() as a, simulator() as b, shared_store(kind, tmp_path_factory) as url:
        one = service(tmp_path, "one", url, a).start()
        two = service(tmp_path, "two", url, a).start()
        try:
            spec = {"name": "c", "base_url": b.url, "models": ["extra"], "api_key": "sk-c"}
            created = httpx.post(f"{one.url}/v1/backends", json=spec, headers=ADMIN_HEADERS)
            assert created.status_code == 201, created.text
            assert serves(one, "extra")  # at once where it was registered
            eventually(lambda: serves(two, "extra"), "the other process serves the backend", WITHIN)
            sent = b.control.requests("/v1/chat/completions")[-1]
            assert sent["headers"]["authorization"] == "Bearer sk-c"  # its key came along

            removed = httpx.delete(f"{two.url}/v1/backends/c", headers=ADMIN_HEADERS)
            assert removed.status_code == 200, removed.text
            assert chat(two, "gone?", model="extra").status_code == 404
            eventually(lambda: not serves(one, "extra"), "the removal reaches the other", WITHIN)
            assert (
                httpx.delete(f"{one.url}/v1/backends/c", headers=ADMIN_HEADERS).status_code == 404
            )

            spec = {"name": "d", "base_url": b.url, "models": ["later"]}
            assert httpx.post(f"{two.url}/v1/backends", json=spec, headers=ADMIN_HEADERS).is_success
            one.restart()  # a process started later serves it from its first request
            assert serves(one, "later") and not serves(one, "extra")
        finally:
            one.stop()
            two.stop()
