"""Fixtures that run the real service under uvicorn against the upstream simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer, running_simulator


def service_env(sim_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """Settings for a test service: simulator upstream, SQLite in `workdir`, no MCP."""
    env = {
        "LLM_BASE_URL": sim_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'sessions.db'}",
        "TOOLS_WORKSPACE": str(workdir / "workspace"),
        "USE_MCP_TOOLS": "false",
        "LLM_TIMEOUT": "5",
        "LLM_MAX_RETRIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def service(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service process shared by a test module (the simulator is reset per test)."""
    workdir = tmp_path_factory.mktemp("service")
    svc = Service(service_env(sim_server.base_url, workdir), workdir).start()
    yield svc
    svc.stop()


@pytest.fixture
def fresh_service(sim_server: SimServer, tmp_path: Path) -> Iterator[Service]:
    """A service of its own, for tests that restart it or change its settings."""
    svc = Service(service_env(sim_server.base_url, tmp_path), tmp_path)
    yield svc
    svc.stop()


@pytest.fixture
def own_sim() -> Iterator[SimServer]:
    """A simulator of the test's own, for tests that count the answers it sends at once
    (an answer another test left running on the shared one would count too)."""
    with running_simulator() as server:
        yield server
