"""MCP servers that fail mid-call: errors become ToolExceptions and the server comes back."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import psutil
import pytest
from langchain_core.tools import StructuredTool, ToolException

from mcp_tools import mcp_connection
from mcp_tools.mcp_client import open_mcp_tools
from tests.mcp_servers.harness import free_port, http_server, stdio_entry, write_settings


@pytest.fixture(autouse=True)
def short_ping(monkeypatch) -> None:
    monkeypatch.setattr(mcp_connection, "PING_TIMEOUT", 0.5)


def local_tools(entries) -> dict[str, StructuredTool]:
    return {entry.name: entry.tool for entry in entries}


async def wait_until_gone(pid: int) -> None:
    for _ in range(200):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # let the event loop notice the closed pipes


async def test_crash_mid_call_is_reported_and_the_server_restarts(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, {"local": stdio_entry(timeout=10)})
    async with open_mcp_tools(settings) as (entries, _):
        tools = local_tools(entries)
        first_pid = await tools["pid"].ainvoke({})
        with pytest.raises(ToolException, match="MCP server 'local' closed the connection"):
            await tools["crash"].ainvoke({})
        assert await tools["add"].ainvoke({"a": 1, "b": 2}) == "3"
        assert await tools["pid"].ainvoke({}) != first_pid
        assert await tools["counter"].ainvoke({}) == "1"  # a fresh process


async def test_hung_server_times_out_and_is_restarted(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, {"local": stdio_entry(timeout=1)}, mcp_call_timeout=30)
    async with open_mcp_tools(settings) as (entries, _):
        tools = local_tools(entries)
        first_pid = await tools["pid"].ainvoke({})
        with pytest.raises(
            ToolException, match="'local' did not answer the call to 'hang' within 1 s"
        ):
            await tools["hang"].ainvoke({})
        assert await tools["echo"].ainvoke({"text": "back"}) == "back"
        assert await tools["pid"].ainvoke({}) != first_pid


async def test_one_hung_call_keeps_a_responsive_session(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, {"local": stdio_entry()}, mcp_call_timeout=1)
    async with open_mcp_tools(settings) as (entries, _):
        tools = local_tools(entries)
        first_pid = await tools["pid"].ainvoke({})
        assert await tools["counter"].ainvoke({}) == "1"
        with pytest.raises(ToolException, match="within 1 s"):
            await tools["hang_async"].ainvoke({})
        assert await tools["pid"].ainvoke({}) == first_pid
        assert await tools["counter"].ainvoke({}) == "2"  # same process, state kept


async def test_tool_errors_carry_the_servers_message(tmp_path: Path) -> None:
    async with open_mcp_tools(write_settings(tmp_path, {"local": stdio_entry()})) as (entries, _):
        tools = local_tools(entries)
        with pytest.raises(ToolException, match=r"MCP tool 'fail' .*reported an error: .*boom"):
            await tools["fail"].ainvoke({"message": "boom"})
        with pytest.raises(ToolException, match="validation error"):
            await tools["add"].ainvoke({"a": "not a number", "b": 1})
        assert await tools["add"].ainvoke({"a": 1, "b": 1}) == "2"


async def test_server_killed_between_calls_is_restarted_transparently(tmp_path: Path) -> None:
    async with open_mcp_tools(write_settings(tmp_path, {"local": stdio_entry()})) as (entries, _):
        tools = local_tools(entries)
        first_pid = int(await tools["pid"].ainvoke({}))
        os.kill(first_pid, signal.SIGKILL)
        await wait_until_gone(first_pid)
        assert await tools["add"].ainvoke({"a": 20, "b": 22}) == "42"
        assert int(await tools["pid"].ainvoke({})) != first_pid


async def test_http_server_down_then_back(tmp_path: Path) -> None:
    port = free_port()
    with http_server(port) as (url, process):
        settings = write_settings(tmp_path, {"remote": {"url": url, "timeout": 5}})
        async with open_mcp_tools(settings) as (entries, _):
            count = local_tools(entries)["word_count"]
            assert await count.ainvoke({"text": "a b"}) == "2"
            process.kill()
            process.wait()
            with pytest.raises(ToolException, match="MCP server 'remote'"):
                await count.ainvoke({"text": "a b c"})
            with http_server(port):
                assert await count.ainvoke({"text": "a b c"}) == "3"


async def test_http_server_restarted_between_calls_gets_a_new_session(tmp_path: Path) -> None:
    port = free_port()
    with http_server(port) as (url, process):
        settings = write_settings(tmp_path, {"remote": {"url": url, "timeout": 5}})
        async with open_mcp_tools(settings) as (entries, _):
            count = local_tools(entries)["word_count"]
            assert await count.ainvoke({"text": "a"}) == "1"
            process.kill()
            process.wait()
            with http_server(port):
                # the new process does not know the old session; the client re-initializes
                results = [await count.ainvoke({"text": "a b"}) for _ in range(2)]
    assert results == ["2", "2"]
