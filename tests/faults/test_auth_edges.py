"""Authorization edges: bytes outside ASCII and bare keys are 401s (never a 500 or a pass),
the API docs are behind the key unless published, and no key reaches the log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.conftest import KEY, raw_exchange
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

PROTECTED = [
    ("GET", "/v1/models"),
    ("GET", "/v1/sessions"),
    ("GET", "/v1/tools"),
    ("GET", "/v1/backends"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
]
BODY = b'{"messages": [{"role": "user", "content": "hi"}], "input": "hi"}'
NOT_ASCII = [b"Bearer \xff\xfe", b"Bearer " + KEY.encode() + b"\xe9", "Bearer clé".encode()]


def _request(svc: Service, method: str, path: str, authorization: bytes) -> tuple[int, bytes]:
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n".encode()
    head += b"Authorization: " + authorization + b"\r\n"
    body = BODY if method == "POST" else b""
    if body:
        head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    answer = raw_exchange(svc, head + b"\r\n", body)
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("authorization", NOT_ASCII, ids=["ff-fe", "key-then-e-acute", "utf8"])
@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_byte_outside_ascii_is_a_401(
    keyed_service: Service, method: str, path: str, authorization: bytes
) -> None:
    status, body = _request(keyed_service, method, path, authorization)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("path", ["/health", "/queue/status", "/metrics"])
def test_open_routes_ignore_a_header_outside_ascii(keyed_service: Service, path: str) -> None:
    assert _request(keyed_service, "GET", path, NOT_ASCII[0])[0] == 200


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (KEY, 401),  # a bare key, without the scheme
        (f"Basic {KEY}", 401),
        (f"Bearer{KEY}", 401),
        (f"Bearer {KEY}x", 401),
        (f"Bearer {KEY}", 200),
        (f"bearer {KEY}", 200),  # the scheme is case-insensitive (RFC 9110)
    ],
)
def test_only_a_bearer_key_is_accepted(
    keyed_service: Service, authorization: str, status: int
) -> None:
    response = httpx.get(f"{keyed_service.url}/v1/models", headers={"Authorization": authorization})
    assert response.status_code == status, response.text


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_docs_need_the_key_when_keys_are_on(keyed_service: Service, path: str) -> None:
    assert httpx.get(f"{keyed_service.url}{path}").status_code == 401
    with_key = httpx.get(f"{keyed_service.url}{path}", headers={"Authorization": f"Bearer {KEY}"})
    assert with_key.status_code == 200


SECRETS = {"client": "k-client-secret-7f3a", "admin": "k-admin-secret-19c2"}
UPSTREAM_KEY = "upstream-secret-88e1"


@pytest.fixture(scope="module")
def debug_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """Keys on, docs published, every logger at DEBUG, an upstream key and URL password."""
    workdir = tmp_path_factory.mktemp("debug-logs")
    upstream = sim_server.base_url.replace("http://", "http://agent:pw-secret-5d1e@")
    env = service_env(
        upstream,
        workdir,
        LOG_LEVEL="DEBUG",
        API_KEY=SECRETS["client"],
        ADMIN_API_KEY=SECRETS["admin"],
        LLM_API_KEY=UPSTREAM_KEY,
        PUBLISH_DOCS="true",
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def test_published_docs_need_no_key(debug_service: Service) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert httpx.get(f"{debug_service.url}{path}").status_code == 200


def test_no_key_reaches_the_log(debug_service: Service, sim: SimServer) -> None:
    client, admin = SECRETS["client"], SECRETS["admin"]
    for authorization in (f"Bearer {client}", f"Bearer {admin}", client, f"Bearer {client}x"):
        for method, path in PROTECTED:
            _request(debug_service, method, path, authorization.encode())
    for key in (client, admin):
        streamed = httpx.post(
            f"{debug_service.url}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "stream": True},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert streamed.status_code == 200
    assert any(r["headers"].get("authorization") for r in sim.control.requests())
    log = debug_service.output()
    assert "DEBUG" in log and "POST /v1/chat/completions 200" in log
    for secret in (client, admin, UPSTREAM_KEY, "pw-secret-5d1e"):
        assert secret not in log, f"{secret} is in the log"
