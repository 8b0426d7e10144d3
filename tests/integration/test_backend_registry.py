"""Backends registered at run time are the whole deployment's: two service processes on one
database (a SQLite file, or Postgres), a backend registered on one serves requests on the
other within BACKEND_SYNC_INTERVAL, one removed on either is gone from both, and a process
started later serves what was registered before it."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_postgres import POSTGRES_URL, scratch_database, unreachable
from tests.integration.test_team_backends import ADMIN, MODEL, Sim, chat, simulator

SYNC = "0.3"
WITHIN = 15.0  # seconds: far above SYNC, for a loaded machine
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'shared.db'}"
        return
    if (why := unreachable(POSTGRES_URL)) is not None:
        pytest.skip(f"no Postgres: {why}")
    with scratch_database(POSTGRES_URL) as url:
        yield url


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


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WITHIN:g} s: {what}")
        time.sleep(0.1)


def serves(svc: Service, model: str) -> bool:
    return chat(svc, "which backend?", model=model).status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_backend_registered_on_one_process_serves_on_the_others(
    kind: str, tmp_path: Path
) -> None:
    with simulator() as a, simulator() as b, database(kind, tmp_path) as url:
        one = service(tmp_path, "one", url, a).start()
        two = service(tmp_path, "two", url, a).start()
        try:
            spec = {"name": "c", "base_url": b.url, "models": ["extra"], "api_key": "sk-c"}
            created = httpx.post(f"{one.url}/v1/backends", json=spec, headers=ADMIN_HEADERS)
            assert created.status_code == 201, created.text
            assert serves(one, "extra")  # at once where it was registered
            eventually(lambda: serves(two, "extra"), "the other process serves the new backend")
            sent = b.control.requests("/v1/chat/completions")[-1]
            assert sent["headers"]["authorization"] == "Bearer sk-c"  # its key came along

            removed = httpx.delete(f"{two.url}/v1/backends/c", headers=ADMIN_HEADERS)
            assert removed.status_code == 200, removed.text
            assert chat(two, "gone?", model="extra").status_code == 404
            eventually(lambda: not serves(one, "extra"), "the removal reaches the first process")
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
