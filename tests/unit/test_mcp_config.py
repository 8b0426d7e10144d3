"""Parsing the mcpServers JSON file: transports, variables, disabled and malformed entries."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from mcp_tools.mcp_config import McpConfigError, expand_vars, read_mcp_config


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def parse(tmp_path: Path, servers: dict[str, object]):
    return read_mcp_config(write(tmp_path, {"mcpServers": servers}))


def test_stdio_entry_maps_to_an_adapter_connection(tmp_path: Path) -> None:
    config = parse(tmp_path, {"fs": {"command": "npx", "env": {"PORT": 8080}, "cwd": "/srv"}})
    (server,) = config.servers
    assert server.name == "fs"
    assert server.connection() == {
        "transport": "stdio",
        "command": "npx",
        "args": [],
        "env": {"PORT": "8080"},
        "cwd": "/srv",
    }
    assert config.errors == {}


@pytest.mark.parametrize(
    ("entry", "transport"),
    [
        ({"url": "http://h/mcp"}, "streamable_http"),
        ({"url": "http://h/mcp", "type": "http"}, "streamable_http"),
        ({"url": "http://h/mcp", "type": "streamable-http"}, "streamable_http"),
        ({"url": "http://h/mcp", "transport": "streamable_http"}, "streamable_http"),
        ({"url": "http://h/sse", "type": "sse"}, "sse"),
        ({"url": "http://h/sse", "transport": "SSE"}, "sse"),
        ({"command": "x", "type": "stdio"}, "stdio"),
    ],
)
def test_transport_and_type_spellings(tmp_path: Path, entry: dict, transport: str) -> None:
    (server,) = parse(tmp_path, {"s": entry}).servers
    assert server.transport == transport
    assert server.connection()["transport"] == transport


def test_remote_entry_keeps_headers_timeout_and_startup_timeout(tmp_path: Path) -> None:
    entry = {"url": "https://h/mcp", "headers": {"A": "1"}, "timeout": 5, "startup_timeout": 9}
    (server,) = parse(tmp_path, {"r": entry}).servers
    assert server.connection() == {
        "transport": "streamable_http",
        "url": "https://h/mcp",
        "headers": {"A": "1"},
    }
    assert (server.timeout, server.startup_timeout) == (5, 9)


def test_variables_are_expanded_everywhere(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MCP_T_TOKEN", "s3cret")
    monkeypatch.setenv("MCP_T_EMPTY", "")
    monkeypatch.delenv("MCP_T_UNSET", raising=False)
    servers = {
        "local": {
            "command": "run",
            "args": ["--token=${MCP_T_TOKEN}", "${MCP_T_UNSET:-fallback}", "$MCP_T_TOKEN"],
            "env": {"KEY": "${MCP_T_TOKEN}", "EMPTY": "${MCP_T_EMPTY:-dflt}"},
        },
        "remote": {
            "url": "https://${MCP_T_UNSET:-example.com}/mcp",
            "headers": {"Authorization": "Bearer ${MCP_T_TOKEN}"},
        },
    }
    local, remote = parse(tmp_path, servers).servers
    assert local.args == ["--token=s3cret", "fallback", "$MCP_T_TOKEN"]
    assert local.env == {"KEY": "s3cret", "EMPTY": "dflt"}
    assert remote.url == "https://example.com/mcp"
    assert remote.headers == {"Authorization": "Bearer s3cret"}


def test_unset_variable_without_default_fails_only_that_server(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MCP_T_MISSING", raising=False)
    servers = {
        "bad": {"command": "x", "env": {"API_KEY": "${MCP_T_MISSING}"}},
        "ok": {"command": "y"},
    }
    config = parse(tmp_path, servers)
    assert [s.name for s in config.servers] == ["ok"]
    assert "server 'bad'" in config.errors["bad"]
    assert "env.API_KEY" in config.errors["bad"]
    assert "MCP_T_MISSING" in config.errors["bad"]


def test_expand_vars_default_applies_to_empty_values(monkeypatch) -> None:
    monkeypatch.setenv("MCP_T_EMPTY", "")
    assert expand_vars("${MCP_T_EMPTY:-d}") == "d"
    assert expand_vars("a${MCP_T_EMPTY}b") == "ab"


def test_disabled_entries_are_skipped_without_validation(tmp_path: Path) -> None:
    servers = {
        "off": {"url": "${MCP_T_NOT_SET_ANYWHERE}", "disabled": True},
        "on": {"command": "c"},
    }
    config = parse(tmp_path, servers)
    assert [s.name for s in config.servers] == ["on"]
    assert config.disabled == ["off"]
    assert config.errors == {}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"command": "x", "args": "not-a-list"}, "args"),
        ({"command": "x", "args": [1.5, {"a": 1}]}, "args.1"),
        ({"command": "x", "timeout": -1}, "timeout"),
        ({"url": "http://h", "type": "websocket"}, "websocket"),
        ({"command": "x", "url": "http://h"}, "`command`"),
        ({"args": ["a"]}, "`url`"),
        ({"type": "stdio", "args": ["a"]}, "`command`"),
        ({"type": "sse", "command": "x"}, "needs `url`"),
        ({"url": "ftp://h"}, "url"),
        ("just a string", "expected an object"),
    ],
)
def test_malformed_entry_names_server_and_key(tmp_path: Path, entry: object, expected: str) -> None:
    config = parse(tmp_path, {"broken": entry, "fine": {"command": "ok"}})
    assert [s.name for s in config.servers] == ["fine"]
    assert config.errors["broken"].startswith("server 'broken': ")
    assert expected in config.errors["broken"]


def test_unknown_keys_are_ignored_with_a_warning(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="mcp_tools.mcp_config"):
        config = parse(tmp_path, {"s": {"command": "x", "autoApprove": [], "comand": "y"}})
    assert [s.name for s in config.servers] == ["s"]
    assert "autoApprove, comand" in caplog.text


def test_vscode_servers_key_is_accepted(tmp_path: Path) -> None:
    config = read_mcp_config(
        write(tmp_path, {"servers": {"v": {"type": "http", "url": "http://h"}}})
    )
    assert [s.transport for s in config.servers] == ["streamable_http"]


def test_empty_server_map_is_fine(tmp_path: Path) -> None:
    config = parse(tmp_path, {})
    assert (config.servers, config.errors, config.disabled) == ([], {}, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", '"mcpServers"'),
        ('{"mcpServers": []}', '"mcpServers" to be an object'),
        ('{"other": {}}', '"mcpServers"'),
    ],
)
def test_bad_file_raises_naming_the_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(McpConfigError) as info:
        read_mcp_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="cannot read MCP config"):
        read_mcp_config(tmp_path / "absent.json")
