"""Helpers to run the test MCP servers and point `Settings` at them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def stdio_entry(**extra: Any) -> dict[str, Any]:
    """A config entry for tests/mcp_servers/stdio_server.py."""
    entry = {
        "command": sys.executable,
        "args": ["-m", "tests.mcp_servers.stdio_server"],
        "cwd": str(REPO_ROOT),
    }
    return entry | extra


def time_entry() -> dict[str, Any]:
    """A config entry for the third-party `mcp-server-time` package."""
    return {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


def python_entry(code: str, **extra: Any) -> dict[str, Any]:
    """A stdio entry that runs `python -c code` (e.g. a process that exits or hangs)."""
    return {"command": sys.executable, "args": ["-c", code]} | extra


def write_settings(tmp_path: Path, servers: dict[str, Any], **fields: Any) -> Settings:
    """Settings whose MCP_CONFIG is a fresh file holding `servers`."""
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    values = {"_env_file": None, "use_mcp_tools": True, "mcp_config": path} | fields
    return Settings(**values)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], limit: float = 15.0) -> None:
    """Block until something accepts connections on `port` (or fail if the process died)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"HTTP MCP server exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"HTTP MCP server did not listen on port {port}")


@contextmanager
def http_server(port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run tests/mcp_servers/http_server.py; yields its MCP URL and the process."""
    port = port or free_port()
    command = [sys.executable, "-m", "tests.mcp_servers.http_server", "--port", str(port)]
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.kill()
        process.wait()
