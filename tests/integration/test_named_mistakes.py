"""Common mistakes get messages that name them (issue 15)."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer


def _post(svc: Service, body: dict | str, **headers: str) -> httpx.Response:
    if isinstance(body, str):
        headers.setdefault("content-type", "application/json")
        return httpx.post(
            f"{svc.url}/v1/chat/completions", content=body, headers=headers, timeout=30
        )
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def _wait_for_output(svc: Service, text: str, patience: float = 60) -> str:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if text in svc.output():
            return svc.output()
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in the service output:\n{svc.output()}")


def test_base_url_without_v1_is_named_at_start_and_on_requests(
    fresh_service: Service, sim_server: SimServer
) -> None:
    root = sim_server.base_url.removesuffix("/v1")
    fresh_service.env["LLM_BASE_URL"] = root
    fresh_service.start()
    output = _wait_for_output(fresh_service, "did you mean")
    assert f"did you mean LLM_BASE_URL={root}/v1?" in output
    response = _post(fresh_service, {"messages": [{"role": "user", "content": "x"}]})
    error = response.json()["error"]
    assert response.status_code == 502, response.text
    assert error["code"] == "upstream_not_found"
    assert f"did you mean LLM_BASE_URL={root}/v1?" in error["message"]


def test_a_down_upstream_is_reported_at_start_without_refusing_to_start(
    fresh_service: Service,
) -> None:
    fresh_service.env["LLM_BASE_URL"] = "http://127.0.0.1:9/v1"
    fresh_service.start()
    output = _wait_for_output(fresh_service, "not reachable")
    assert "http://127.0.0.1:9/v1" in output and "starting anyway" in output
    assert httpx.get(f"{fresh_service.url}/health", timeout=30).status_code == 200


@pytest.mark.parametrize("stream", [True, False], ids=["client-streams", "client-waits"])
def test_a_stream_dropped_mid_reply_says_so(service: Service, sim: SimServer, stream: bool) -> None:
    dropped = {
        "content": "a long answer that goes on and on " * 4,
        "chunk_size": 4,
        "fault": "drop",
        "fault_after": 12,
    }
    sim.control.script(dropped)
    body = {"messages": [{"role": "user", "content": "x"}], "stream": stream}
    response = _post(service, body)
    if stream:
        events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
        error = next(json.loads(e)["error"] for e in events if e.startswith('{"error"'))
    else:
        assert response.status_code == 502, response.text
        error = response.json()["error"]
    assert error["code"] == "upstream_dropped", error["message"]
    if stream:  # the upstream call streams too: how far it got is known
        after = re.search(r"connection dropped after (\d+) tokens", error["message"])
        assert after and 0 < int(after.group(1)) <= 12, error["message"]
    else:
        assert "connection dropped before the reply was complete" in error["message"]
    assert "unreachable" not in error["message"] and "LLM_BASE_URL" not in error["message"]


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        ('{"messages": [{"role": "user", "content": "x"},]}', "line 1, column 48", "value"),
        ('{\n  "messages": [\n    {"role": "user" "content": "x"}\n  ]\n}', "line 3", "','"),
        ('{"messages": [{"role": "user", "content": "x"}]', "line 1, column 48", "end"),
    ],
    ids=["trailing-comma", "missing-comma", "cut-short"],
)
def test_invalid_json_says_where_and_what(
    service: Service, body: str, where: str, what: str
) -> None:
    response = _post(service, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert where in error["message"] and what in error["message"], error["message"]
    assert error["param"] is None


def test_banner_shows_the_mcp_config_in_use(fresh_service: Service) -> None:
    (fresh_service.cwd / "mcp.json").write_text('{"mcpServers": {}}')
    fresh_service.env["USE_MCP_TOOLS"] = "true"
    fresh_service.start()
    fresh_service.stop()
    table = re.sub(r"[\s│]", "", fresh_service.output())  # long values wrap over rows
    in_use = fresh_service.cwd.resolve() / "mcp.json"
    assert f"MCP_CONFIG{in_use}(foundintheworkingdirectory)" in table, fresh_service.output()
