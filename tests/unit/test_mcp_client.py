"""Loading real MCP servers (stdio, streamable HTTP, mcp-server-time) and calling their tools."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import psutil
import pytest
from langchain_core.tools import StructuredTool

from agent.settings import Settings
from mcp_tools.mcp_client import open_mcp_tools
from mcp_tools.registry import SourceStatus, ToolEntry, ToolRegistry
from tests.mcp_servers.harness import (
    REPO_ROOT,
    http_server,
    python_entry,
    stdio_entry,
    time_entry,
    write_settings,
)


@pytest.fixture(scope="module")
def http_url():
    with http_server() as (url, _process):
        yield url


def by_name(statuses: list[SourceStatus]) -> dict[str, SourceStatus]:
    return {status.name: status for status in statuses}


def tools_of(entries: list[ToolEntry], source: str) -> dict[str, StructuredTool]:
    return {entry.name: entry.tool for entry in entries if entry.source == source}


async def test_servers_load_together_and_broken_ones_fail_alone(tmp_path: Path, http_url) -> None:
    servers = {
        "local": stdio_entry(),
        "remote": {"url": http_url},
        "time": time_entry(),
        "missing": {"command": str(tmp_path / "no-such-command")},
        "exits": python_entry("import sys; sys.exit(3)"),
        "stuck": python_entry("import time; time.sleep(60)", startup_timeout=1),
        "malformed": {"command": "x", "args": "not-a-list"},
    }
    async with open_mcp_tools(write_settings(tmp_path, servers)) as (entries, statuses):
        status = by_name(statuses)
        assert {name for name, s in status.items() if s.ok} == {"local", "remote", "time"}
        assert "command not found" in status["missing"].error
        assert "closed the connection" in status["exits"].error
        assert "no answer within 1 s" in status["stuck"].error
        assert "args" in status["malformed"].error
        assert {"add", "echo", "crash", "hang"} <= set(tools_of(entries, "local"))
        assert status["local"].tool_count == len(tools_of(entries, "local"))
        assert set(tools_of(entries, "remote")) >= {"lookup_weather", "word_count", "calculator"}
        assert set(tools_of(entries, "time")) == {"get_current_time", "convert_time"}
        assert all(s.tool_count == 0 for n, s in status.items() if not s.ok)


async def test_tools_of_each_transport_return_text(tmp_path: Path, http_url) -> None:
    servers = {"local": stdio_entry(), "remote": {"url": http_url}, "time": time_entry()}
    async with open_mcp_tools(write_settings(tmp_path, servers)) as (entries, _):
        local, remote = tools_of(entries, "local"), tools_of(entries, "remote")
        clock = tools_of(entries, "time")
        assert await local["add"].ainvoke({"a": 2, "b": 40}) == "42"
        assert await local["echo"].ainvoke({"text": "héllo"}) == "héllo"
        assert await local["lines"].ainvoke({"n": 3}) == "line 0\nline 1\nline 2"
        assert await remote["lookup_weather"].ainvoke({"city": "Oslo"}) == "Oslo: snow, -3 C"
        assert await remote["word_count"].ainvoke({"text": "one two three"}) == "3"
        now = json.loads(await clock["get_current_time"].ainvoke({"timezone": "Europe/Paris"}))
        assert now["timezone"] == "Europe/Paris"
        args = {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        converted = json.loads(await clock["convert_time"].ainvoke(args))
        assert converted["target"]["datetime"].startswith(converted["source"]["datetime"][:10])
        assert "T21:00:00" in converted["target"]["datetime"]


async def test_structured_output_env_cwd_and_big_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MCP_T_GREETING", "bonjour")
    entry = stdio_entry(env={"TEST_MCP_GREETING": "${MCP_T_GREETING}"})
    async with open_mcp_tools(write_settings(tmp_path, {"local": entry})) as (entries, _):
        local = tools_of(entries, "local")
        info = json.loads(await local["info"].ainvoke({}))
        assert info["greeting"] == "bonjour"
        assert Path(info["cwd"]) == Path(entry["cwd"])
        assert await local["big_output"].ainvoke({"n": 100_000}) == "x" * 100_000


async def test_headers_with_variables_reach_the_http_server(
    tmp_path: Path, http_url, monkeypatch
) -> None:
    monkeypatch.setenv("MCP_T_TOKEN", "tok-123")
    entry = {"type": "http", "url": http_url, "headers": {"X-Token": "Bearer ${MCP_T_TOKEN}"}}
    async with open_mcp_tools(write_settings(tmp_path, {"remote": entry})) as (entries, _):
        read_header = tools_of(entries, "remote")["read_header"]
        assert await read_header.ainvoke({"name": "x-token"}) == "Bearer tok-123"


async def test_session_is_persistent_and_shared_by_concurrent_calls(tmp_path: Path) -> None:
    async with open_mcp_tools(write_settings(tmp_path, {"local": stdio_entry()})) as (entries, _):
        local = tools_of(entries, "local")
        pids = {await local["pid"].ainvoke({}) for _ in range(3)}
        counts = [await local["counter"].ainvoke({}) for _ in range(3)]
        echoes = await asyncio.gather(*(local["echo"].ainvoke({"text": str(i)}) for i in range(20)))
        assert len(pids) == 1
        assert counts == ["1", "2", "3"]
        assert echoes == [str(i) for i in range(20)]


async def test_closing_stops_the_server_processes(tmp_path: Path) -> None:
    async with open_mcp_tools(write_settings(tmp_path, {"local": stdio_entry()})) as (entries, _):
        pid = int(await tools_of(entries, "local")["pid"].ainvoke({}))
        assert psutil.pid_exists(pid)
    assert not psutil.pid_exists(pid)


async def test_clashing_mcp_tool_is_prefixed_and_still_calls_the_server(
    tmp_path: Path, http_url
) -> None:
    async def builtin_calculator(expression: str) -> str:
        return "builtin"

    registry = ToolRegistry()
    registry.add(
        ToolEntry(
            StructuredTool.from_function(
                coroutine=builtin_calculator, name="calculator", description="x"
            )
        )
    )
    async with open_mcp_tools(write_settings(tmp_path, {"remote": {"url": http_url}})) as (
        entries,
        _,
    ):
        for entry in entries:
            registry.add(entry)
        assert await registry.get("calculator").tool.ainvoke({"expression": "1+1"}) == "builtin"
        clash = registry.get("remote_calculator")
        assert await clash.tool.ainvoke({"expression": "1+1"}) == "remote calculator got 1+1"
        schema = registry.get("word_count").openai_schema()["function"]
        assert schema["parameters"]["properties"]["text"]["type"] == "string"


async def load(settings: Settings) -> tuple[list, list]:
    async with open_mcp_tools(settings) as (entries, statuses):
        return entries, statuses


async def test_disabled_or_unconfigured_mcp_loads_nothing(tmp_path: Path, monkeypatch) -> None:
    off = write_settings(tmp_path, {"local": stdio_entry()}, use_mcp_tools=False)
    assert await load(off) == ([], [])
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)  # no ./mcp.json here
    unconfigured = Settings(_env_file=None, use_mcp_tools=True, mcp_config=None)
    assert unconfigured.mcp_config_path is None
    assert await load(unconfigured) == ([], [])
    disabled = write_settings(tmp_path, {"local": stdio_entry(disabled=True)})
    assert await load(disabled) == ([], [])


async def test_unreadable_config_is_one_failed_source(tmp_path: Path) -> None:
    path = tmp_path / "team-mcp.json"
    path.write_text('{"mcpServers": {', encoding="utf-8")
    entries, statuses = await load(Settings(_env_file=None, mcp_config=path))
    assert entries == []
    assert [(s.name, s.ok) for s in statuses] == [("team-mcp.json", False)]
    assert "not valid JSON" in statuses[0].error
    missing = Settings(_env_file=None, mcp_config=tmp_path / "absent.json")
    _, statuses = await load(missing)
    assert [(s.name, s.ok) for s in statuses] == [("absent.json", False)]


async def test_example_config_loads_the_time_server(monkeypatch) -> None:
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    example = Settings(_env_file=None, mcp_config=REPO_ROOT / "mcp.example.json")
    async with open_mcp_tools(example) as (entries, statuses):
        assert [(s.name, s.ok) for s in statuses] == [("time", True)]
        clock = tools_of(entries, "time")["get_current_time"]
        assert json.loads(await clock.ainvoke({"timezone": "UTC"}))["timezone"] == "UTC"
