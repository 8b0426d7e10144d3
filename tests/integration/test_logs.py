"""LOG_FORMAT=json: one JSON object per line with the request's fields; x-request-id on
every response; no credentials in any line."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

MODEL = "openai/gpt-oss-20b"
WORD = st.text(string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=64)


@pytest.fixture(scope="module")
def json_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("json-logs")
    upstream = sim_server.base_url.replace("http://", "http://agent:hunter2@")
    env = service_env(upstream, workdir, LOG_FORMAT="json", LOG_LEVEL="INFO")
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def _chat(svc: Service, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def _log_lines(svc: Service) -> list[dict]:
    lines = [line for line in svc.output().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must be one JSON object


def _access_line(lines: list[dict], request_id: str) -> dict:
    access = [entry for entry in lines if entry["logger"] == "oss_agent.access"]
    found = [entry for entry in access if entry["request_id"] == request_id]
    assert len(found) == 1, lines
    return found[0]


def test_json_logs_carry_the_request_fields(json_service: Service, sim: SimServer) -> None:
    sim.control.script({"content": "plain answer"}, {"content": "streamed answer"})
    body = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}
    plain = _chat(json_service, body, **{"X-Request-ID": "proxy-id-1"})
    streamed = _chat(
        json_service,
        {**body, "stream": True, "stream_options": {"include_usage": True}},
        **{"X-Request-ID": "proxy-id-2"},
    )
    bad = _chat(json_service, {"messages": []}, **{"X-Request-ID": "proxy-id-3"})
    assert (plain.status_code, streamed.status_code, bad.status_code) == (200, 200, 400)
    json_service.stop()
    lines = _log_lines(json_service)
    assert all({"time", "level", "message"} <= set(entry) for entry in lines)
    for response, request_id in ((plain, "proxy-id-1"), (streamed, "proxy-id-2")):
        assert response.headers["x-request-id"] == request_id
        entry = _access_line(lines, request_id)
        assert entry["status"] == 200 and entry["model"] == MODEL
        assert entry["session_id"] == response.headers["x-session-id"]
        assert entry["tokens"] > 0 and entry["duration_ms"] > 0
        assert entry["message"].startswith("POST /v1/chat/completions 200")
    assert _access_line(lines, "proxy-id-3")["status"] == 400
    settings_line = next(e for e in lines if e["message"] == "settings")
    assert settings_line["settings"]["LOG_FORMAT"] == "json"
    output = json_service.output()
    assert "hunter2" not in output and "agent:****@" in output


@settings(max_examples=30, deadline=None)
@given(
    method_path=st.sampled_from(
        [("GET", "/health"), ("GET", "/v1/models"), ("GET", "/nowhere"), ("POST", "/v1/models")]
    ),
    sent=st.one_of(
        st.none(),
        WORD,
        st.tuples(WORD, WORD).map(" ".join),  # spaces: not taken over into the logs
        st.text(string.ascii_letters, min_size=129, max_size=140),
    ),
)
def test_every_response_has_a_request_id(
    service: Service, method_path: tuple[str, str], sent: str | None
) -> None:
    method, path = method_path
    headers = {"x-request-id": sent} if sent is not None else {}
    response = httpx.request(method, f"{service.url}{path}", headers=headers, timeout=30)
    request_id = response.headers["x-request-id"]
    if sent is not None and " " not in sent and len(sent) <= 128:
        assert request_id == sent  # a proxy's id is kept
    else:
        assert len(request_id) == 32 and request_id != sent  # a fresh one


def test_text_logs_stay_the_default(tmp_path: Path, sim_server: SimServer) -> None:
    env = service_env(sim_server.base_url, tmp_path, LOG_LEVEL="INFO")
    svc = Service(env, tmp_path).start()
    assert httpx.get(f"{svc.url}/health", timeout=30).status_code == 200
    svc.stop()
    assert "oss-agent settings" in svc.output()
    assert "oss_agent.access: GET /health 200" in svc.output()
