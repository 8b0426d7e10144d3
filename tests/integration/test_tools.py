"""Server-side tools through the running service: MCP servers by config, built-ins,
per-request narrowing, and client tools beside server tools."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import OSS_AGENT, Service
from tests.integration.tooldefs import WEATHER
from tests.mcp_servers.harness import http_server, python_entry, stdio_entry, time_entry
from tests.upstream_sim.fixtures import SimServer


@pytest.fixture(scope="module")
def mcp_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An mcp.json with a stdio server, an HTTP server, mcp-server-time and a broken one."""
    folder = tmp_path_factory.mktemp("mcp")
    with http_server() as (url, _process):
        servers = {
            "local": stdio_entry(timeout=3),
            "remote": {"transport": "streamable_http", "url": url},
            "time": time_entry(),
            "broken": {"command": "definitely-not-a-command-xyz", "args": []},
            "dies": python_entry("import sys; sys.exit(3)"),
        }
        path = folder / "mcp.json"
        path.write_text(json.dumps({"mcpServers": servers}))
        yield path


@pytest.fixture(scope="module")
def agent(sim_server: SimServer, mcp_config: Path) -> Iterator[Service]:
    workdir = mcp_config.parent
    env = service_env(
        sim_server.base_url,
        workdir,
        USE_MCP_TOOLS="true",
        MCP_CONFIG=str(mcp_config),
        MCP_CALL_TIMEOUT="3",
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def _ask(svc: Service, text: str, **body) -> dict:
    payload = {"messages": [{"role": "user", "content": text}], **body}
    response = httpx.post(f"{svc.url}/v1/chat/completions", json=payload, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _last_tool_result(sim: SimServer) -> dict:
    return sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]


def test_tool_listing_shows_sources_and_failures(agent: Service) -> None:
    listing = httpx.get(f"{agent.url}/v1/tools").json()
    tools = {t["name"]: t for t in listing["data"]}
    assert tools["add"]["source"] == "local"
    assert tools["lookup_weather"]["source"] == "remote"
    assert tools["get_current_time"]["source"] == "time"
    assert tools["calculator"]["source"] == "builtin"
    assert tools["remote_calculator"]["source"] == "remote"  # name clash prefixed
    assert tools["add"]["parameters"]["properties"].keys() == {"a", "b"}
    sources = {s["name"]: s for s in listing["sources"]}
    assert sources["broken"]["status"] == "failed" and sources["broken"]["error"]
    assert sources["dies"]["status"] == "failed"
    assert sources["local"]["status"] == "ok"
    ready = httpx.get(f"{agent.url}/ready").json()
    assert {s["name"] for s in ready["tool_sources"] if not s["ok"]} == {"broken", "dies"}


def test_cli_tools_prints_the_same_listing(agent: Service) -> None:
    result = subprocess.run(
        [OSS_AGENT, "tools", "--json"],
        env={**os.environ, **agent.env},
        cwd=agent.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = {t["name"] for t in json.loads(result.stdout)["data"]}
    assert {"add", "lookup_weather", "get_current_time", "calculator"} <= names


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("add", {"a": 2, "b": 40}, "42"),
        ("lookup_weather", {"city": "Paris"}, "Paris"),
        ("get_current_time", {"timezone": "Asia/Seoul"}, "Asia/Seoul"),
    ],
)
def test_agent_calls_mcp_tools(agent: Service, sim: SimServer, name, arguments, expected) -> None:
    sim.control.script(
        {"tool_calls": [{"name": name, "arguments": arguments}]}, {"content": "done"}
    )
    assert _ask(agent, "use a tool")["choices"][0]["message"]["content"] == "done"
    result = _last_tool_result(sim)
    assert result["role"] == "tool" and expected in result["content"]
    assert not result["content"].startswith("Error")


@pytest.mark.parametrize(("tool", "words"), [("crash", "crash"), ("hang", "within")])
def test_broken_mcp_calls_become_tool_errors(agent: Service, sim: SimServer, tool, words) -> None:
    sim.control.script(
        {"tool_calls": [{"name": tool, "arguments": {}}]}, {"content": "The tool failed, sorry."}
    )
    reply = _ask(agent, f"call {tool}")
    assert reply["choices"][0]["message"]["content"] == "The tool failed, sorry."
    result = _last_tool_result(sim)
    assert result["content"].startswith("Error:") and words in result["content"]
    sim.control.script(
        {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 1}}]}, {"content": "recovered"}
    )
    assert _ask(agent, "again")["choices"][0]["message"]["content"] == "recovered"
    assert _last_tool_result(sim)["content"] == "2"


def test_metadata_narrows_server_tools(agent: Service, sim: SimServer) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}, {"content": "ok"}
    )
    _ask(agent, "narrow", metadata={"tools": "calculator"})
    first, second = sim.control.bodies("/v1/chat/completions")[-2:]
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator"]
    assert "Unknown tool 'add'" in second["messages"][-1]["content"]


def test_no_server_tools_when_metadata_is_empty(agent: Service, sim: SimServer) -> None:
    _ask(agent, "no tools", metadata={"tools": ""})
    assert "tools" not in sim.control.bodies("/v1/chat/completions")[-1]


def test_client_tools_round_trip_beside_server_tools(agent: Service, sim: SimServer) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
        {"content": "Oslo is sunny."},
    )
    client = agent.client()
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "weather in Oslo?"}], tools=[WEATHER]
    )
    first = raw.parse()
    session = raw.headers["x-session-id"]
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}
    offered = {
        t["function"]["name"] for t in sim.control.bodies("/v1/chat/completions")[-1]["tools"]
    }
    assert {"get_weather", "add", "calculator"} <= offered
    second = client.chat.completions.create(
        model="m",
        tools=[WEATHER],
        extra_headers={"X-Session-ID": session},
        messages=[{"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}],
    )
    assert second.choices[0].message.content == "Oslo is sunny."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}
    assert sent[-2]["tool_calls"][0]["id"] == call.id


def test_streamed_client_tool_call(agent: Service, sim: SimServer) -> None:
    sim.control.script(
        {
            "reasoning": "Need weather.",
            "chunk_size": 3,
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome"}}],
        }
    )
    chunks = list(
        agent.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Rome?"}], tools=[WEATHER], stream=True
        )
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].index == 0 and deltas[0].id and deltas[0].function.name == "get_weather"
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(arguments) == {"city": "Rome"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
