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
