"""A real service (uvicorn) with client keys and small limits, against the simulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

KEY = "k-faults-1"
LIMITS = {
    "MAX_REQUEST_BYTES": "1048576",
    "MAX_MESSAGES": "40",
    "MAX_MESSAGE_CHARS": "20000",
    "MAX_TOOLS": "4",
    "MAX_TOOL_SCHEMA_BYTES": "4096",
    "MAX_JSON_DEPTH": "32",
}


@pytest.fixture(scope="module")
def keyed_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """One service with API_KEY and the small LIMITS, shared by a test module."""
    workdir = tmp_path_factory.mktemp("faults")
    env = service_env(sim_server.base_url, workdir, API_KEY=KEY, **LIMITS)
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def authed(svc: Service) -> httpx.Client:
    return httpx.Client(base_url=svc.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)


def raw_exchange(svc: Service, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes as they are (no client library rewriting them); the whole answer."""
    with socket.create_connection(("127.0.0.1", svc.port), timeout=60) as sock:
        sock.sendall(head + body)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset after its answer is fine: it
    closed with some of our body unread)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        if not received:
            raise
    return received
