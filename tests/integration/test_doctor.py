"""`oss-agent doctor` against a good setup and against each fault it names."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import service_env
from tests.integration.service import OSS_AGENT, Service
from tests.mcp_servers.harness import stdio_entry
from tests.upstream_sim.fixtures import SimServer, free_port

NATIVE_CALL = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}
HARMONY_LEAK = {
    "content": "<|channel|>commentary to=functions.get_weather <|constrain|>json"
    '<|message|>{"city": "Paris"}<|call|>'
}
JSON_CALL = {"content": '{"name": "get_weather", "arguments": {"city": "Paris"}}'}
REJECTS = {"fault": "status", "status": 400, "message": "tools are not supported"}


def doctor(sim: SimServer, tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    mcp = tmp_path / "mcp.json"
    if not mcp.exists():
        mcp.write_text(json.dumps({"mcpServers": {"local": stdio_entry(timeout=10)}}))
    env = {
        **os.environ,
        "LLM_BASE_URL": sim.base_url,
        "LLM_MODEL": "openai/gpt-oss-20b",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sessions.db'}",
        "TOOLS_WORKSPACE": str(tmp_path / "workspace"),
        "MCP_CONFIG": str(mcp),
        "API_HOST": "127.0.0.1",
        "API_PORT": str(free_port()),
        "COLUMNS": "300",
        **overrides,
    }
    return subprocess.run(
        [OSS_AGENT, "doctor"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_a_good_setup_passes(sim: SimServer, tmp_path: Path) -> None:
    sim.control.script(NATIVE_CALL)
    result = doctor(sim, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("ok   settings", "ok   model served", "ok   database writable", "ok   port free"):
        assert line in result.stdout
    assert "ok   MCP server local" in result.stdout
    assert "returns `tool_calls`; TOOL_CALL_MODE fits: auto, native (now auto)" in result.stdout
    assert "All checks passed." in result.stdout
    assert sim.control.bodies()[-1]["tools"][0]["function"]["name"] == "get_weather"


def test_simulator_down(sim: SimServer, tmp_path: Path) -> None:
    result = doctor(sim, tmp_path, LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    assert result.returncode == 1
    assert "FAIL model server reachable" in result.stdout
    assert "fix: start the model server, or point LLM_BASE_URL at it" in result.stdout


def test_unknown_model(sim: SimServer, tmp_path: Path) -> None:
    result = doctor(sim, tmp_path, LLM_MODEL="gpt-oss-9000")
    assert result.returncode == 1
    assert "FAIL model served: LLM_MODEL=gpt-oss-9000 is not served" in result.stdout
    assert "fix: set LLM_MODEL to one of ['openai/gpt-oss-20b']" in result.stdout


@pytest.mark.parametrize(
    ("step", "mode", "ok", "says"),
    [
        (HARMONY_LEAK, "native", False, "fix: set TOOL_CALL_MODE=auto"),
        (HARMONY_LEAK, "auto", True, "harmony markup in `content`"),
        (JSON_CALL, "native", False, "JSON in `content`"),
        (REJECTS, "auto", False, "fix: set TOOL_CALL_MODE=prompt"),
        (REJECTS, "prompt", True, "answered 400 to a request with `tools`"),
    ],
)
def test_tool_call_probe_names_the_mode_that_fits(
    sim: SimServer, tmp_path: Path, step: dict, mode: str, ok: bool, says: str
) -> None:
    sim.control.script(step)
    result = doctor(sim, tmp_path, TOOL_CALL_MODE=mode)
    assert result.returncode == (0 if ok else 1), result.stdout
    assert ("ok   tool-call mode" if ok else "FAIL tool-call mode") in result.stdout
    assert says in result.stdout


def test_bad_database_path(sim: SimServer, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = doctor(sim, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'a-file' / 'db.sqlite'}")
    assert result.returncode == 1
    assert "FAIL database writable" in result.stdout
    assert "fix: point DATABASE_URL at a writable file" in result.stdout


def test_broken_mcp_command(sim: SimServer, tmp_path: Path) -> None:
    servers = {"local": stdio_entry(timeout=10), "broken": {"command": "no-such-command-xyz"}}
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    result = doctor(sim, tmp_path)
    assert result.returncode == 1
    assert "ok   MCP server local" in result.stdout
    assert "FAIL MCP server broken" in result.stdout
    assert "fix: fix or remove 'broken' in" in result.stdout


def test_port_in_use(sim: SimServer, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = doctor(sim, tmp_path, API_PORT=str(busy.getsockname()[1]))
    assert result.returncode == 1
    assert "FAIL port free" in result.stdout
    assert "fix: stop what uses it, or set API_PORT" in result.stdout


def test_bad_settings(sim: SimServer, tmp_path: Path) -> None:
    result = doctor(sim, tmp_path, API_PORT="eighty")
    assert result.returncode == 1
    assert "FAIL settings" in result.stdout and "API_PORT" in result.stdout


@pytest.fixture
def running(sim: SimServer, tmp_path: Path) -> Iterator[Service]:
    """The service of the same settings (its SQLite file in tmp_path), already running."""
    svc = Service(service_env(sim.base_url, tmp_path, API_KEYS="k-doctor"), tmp_path).start()
    yield svc
    svc.stop()


def test_beside_the_running_service_it_asks_the_service(
    sim: SimServer, tmp_path: Path, running: Service
) -> None:
    sim.control.script(NATIVE_CALL)
    result = doctor(sim, tmp_path, API_PORT=str(running.port), API_KEYS="k-doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    here = f"http://127.0.0.1:{running.port}"
    assert "ok   database writable" in result.stdout  # the service shares the file
    assert f"ok   oss-agent service: already running at {here}; its /ready: ready" in (
        result.stdout
    )
    assert "port free" not in result.stdout


def test_beside_a_service_that_is_not_ready_it_says_why(tmp_path: Path, sim: SimServer) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    env = service_env(down, tmp_path, API_KEYS="k-doctor")
    svc = Service(env, tmp_path).start()
    try:
        result = doctor(
            sim, tmp_path, API_PORT=str(svc.port), API_KEYS="k-doctor", LLM_BASE_URL=down
        )
    finally:
        svc.stop()
    assert result.returncode == 1
    assert (
        f"FAIL oss-agent service: already running at {svc.url}; its /ready: model server {down}"
        in (" ".join(result.stdout.split()))
    )
    assert f"fix: see {svc.url}/ready and the service's log" in result.stdout


def test_a_sqlite_file_a_service_on_another_port_uses_is_shared(
    sim: SimServer, tmp_path: Path, running: Service
) -> None:
    result = doctor(sim, tmp_path)  # its own free API_PORT, the running service's database
    assert "ok   database writable" in result.stdout
    assert "ok   port free" in result.stdout


def test_beside_a_demo_service_it_says_demo_mode(sim: SimServer, tmp_path: Path) -> None:
    svc = Service(service_env(sim.base_url, tmp_path), tmp_path, args=["--demo"]).start()
    try:
        sim.control.script(NATIVE_CALL)
        result = doctor(sim, tmp_path, API_PORT=str(svc.port))
    finally:
        svc.stop()
    said = " ".join(result.stdout.split())
    assert f"ok oss-agent service: already running at {svc.url} in demo mode" in said, said
