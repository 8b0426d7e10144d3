"""A tool's error text is cut like its output: TOOL_OUTPUT_MAX_CHARS bounds what the model
reads and what the session stores, whether the tool answered or failed (a real MCP server
raising an error of 300,000 and of 2,000,000 characters from a short call)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.mcp_servers.harness import stdio_entry
from tests.upstream_sim.fixtures import SimServer

BUDGET = 2000


@pytest.fixture(scope="module")
def agent(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("tool-errors")
    config = workdir / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"local": stdio_entry(timeout=10)}}))
    env = service_env(
        sim_server.base_url,
        workdir,
        USE_MCP_TOOLS="true",
        MCP_CONFIG=str(config),
        TOOL_OUTPUT_MAX_CHARS=str(BUDGET),
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


@pytest.mark.parametrize("size", [300_000, 2_000_000])
def test_a_huge_tool_error_is_cut_to_the_output_budget(
    agent: Service, sim: SimServer, size: int
) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "big_error", "arguments": {"n": size}}]},
        {"content": "it failed"},
    )
    body = {"messages": [{"role": "user", "content": "fail loudly"}]}
    response = httpx.post(f"{agent.url}/v1/chat/completions", json=body, timeout=120)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["choices"][0]["message"]["content"] == "it failed"
    result = sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]
    assert result["role"] == "tool" and result["content"].startswith("Error:")
    assert "output truncated" in result["content"] and len(result["content"]) < BUDGET + 500
    session = response.headers["x-session-id"]
    stored = httpx.get(f"{agent.url}/v1/sessions/{session}", timeout=60).json()["messages"]
    assert all(len(m.get("content") or "") < BUDGET + 500 for m in stored), [
        len(m.get("content") or "") for m in stored
    ]


def test_the_mcp_server_is_configured(agent: Service) -> None:
    listing = httpx.get(f"{agent.url}/v1/tools", timeout=60).json()
    names = {tool["name"] for tool in listing.get("data", listing.get("tools", []))}
    assert "big_error" in names, listing
