"""A request body is parsed once: the body guard's parse is what the routes read
(api/body_guard.py), for every route that takes a JSON body."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette import requests as starlette_requests

from agent.settings import Settings
from api.app import create_app
from api.body_guard import ParsedBodyRoute
from tests.declared_routes import declared_routes
from tests.upstream_sim.fixtures import SimServer


def _settings(sim: SimServer, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        llm_base_url=sim.base_url,
        database_url=f"sqlite:///{tmp_path / 'sessions.db'}",
        use_mcp_tools=False,
        tools_workspace=str(tmp_path / "workspace"),
    )


def test_every_route_with_a_json_body_reads_the_guards_parse() -> None:
    routes = [route for route in declared_routes() if isinstance(route, APIRoute)]
    with_body = [r for r in routes if r.methods & {"POST", "PUT", "PATCH"}]
    assert {r.path for r in with_body} >= {"/v1/chat/completions", "/v1/responses"}
    assert [r.path for r in with_body if not isinstance(r, ParsedBodyRoute)] == []


def test_a_turn_parses_its_body_once(
    sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[bytes] = []
    loads = json.loads

    def counted(text: bytes | str, *args: object, **kwargs: object) -> object:
        parses.append(text if isinstance(text, bytes) else text.encode())
        return loads(text, *args, **kwargs)

    monkeypatch.setattr(starlette_requests.json, "loads", counted)
    sim.control.script({"content": "Once."})
    app = create_app(_settings(sim, tmp_path))

    async def turn() -> httpx.Response:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
                return await client.post("/v1/chat/completions", json=body)

    response = asyncio.run(turn())
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Once."
    assert [p for p in parses if b'"messages"' in p] == []  # Starlette's own parse never ran
