"""Models, health, readiness and the OpenAPI docs."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer


def test_models(service: Service) -> None:
    client = service.client()
    models = client.models.list()
    assert [m.id for m in models.data] == ["openai/gpt-oss-20b"]
    assert client.models.retrieve("openai/gpt-oss-20b").id == "openai/gpt-oss-20b"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_ready_reports_upstream_and_database(service: Service, sim: SimServer) -> None:
    response = httpx.get(f"{service.url}/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["upstream"]["ok"] and body["database"]["ok"]
    assert {s["name"] for s in body["tool_sources"]} >= {"builtin"}


def test_docs_and_openapi(service: Service) -> None:
    assert httpx.get(f"{service.url}/docs").status_code == 200
    paths = httpx.get(f"{service.url}/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/v1/sessions/{session_id}"} <= set(paths)


def test_unknown_route_is_openai_shaped_404(service: Service) -> None:
    response = httpx.get(f"{service.url}/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def _sample(svc: Service, name: str) -> float:
    for line in httpx.get(f"{svc.url}/metrics").text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_turns_and_tool_calls(service: Service, sim: SimServer) -> None:
    names = {
        "turns": 'oss_agent_turns_total{outcome="ok"}',
        "failed": 'oss_agent_turns_total{outcome="upstream_error"}',
        "server": 'oss_agent_tool_calls_total{kind="server"}',
        "unusable": 'oss_agent_tool_calls_total{kind="unusable"}',
        "ran": 'oss_agent_server_tool_results_total{result="success",tool="calculator"}',
        "auto": 'oss_agent_model_calls_total{mode="auto"}',
    }
    before = {key: _sample(service, name) for key, name in names.items()}
    sim.control.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]},
        {"tool_calls": [{"name": "nonexistent_tool", "arguments": {}}]},
        {"content": "2"},
        {"fault": "error500"},
    )
    client = service.client()
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "1+1"}])
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    after = {key: _sample(service, name) for key, name in names.items()}
    assert {key: after[key] - before[key] for key in names} == {
        "turns": 1,
        "failed": 1,
        "server": 1,
        "unusable": 1,
        "ran": 1,
        "auto": 4,
    }
    assert "oss_agent_turn_seconds_bucket" in httpx.get(f"{service.url}/metrics").text
