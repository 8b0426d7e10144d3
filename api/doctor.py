"""`oss-agent doctor`: what a new user gets wrong, each problem with its fix."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import httpx

from agent.settings import Settings, mask_url_password
from api.doctor_probe import classify, probe_body
from api.doctor_service import RunningService, running_service

PROBE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""


def _upstream(settings: Settings) -> httpx.Client:
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    base = settings.llm_base_url.rstrip("/")
    return httpx.Client(base_url=base, headers=headers, timeout=PROBE_TIMEOUT)


def check_model_server(settings: Settings) -> list[Finding]:
    """Reachable, serves LLM_MODEL, and what it does with `tools`."""
    with _upstream(settings) as http:
        try:
            listed = http.get("/models")
        except httpx.HTTPError as exc:
            fix = "start the model server, or point LLM_BASE_URL at it (with its /v1)"
            detail = f"{mask_url_password(settings.llm_base_url)}: {exc}"
            return [Finding("model server reachable", False, detail, fix)]
        if listed.status_code >= 400:
            fix = "check LLM_BASE_URL (it ends with /v1) and LLM_API_KEY"
            detail = f"GET /models answered {listed.status_code}"
            return [Finding("model server reachable", False, detail, fix)]
        found = [Finding("model server reachable", True, mask_url_password(settings.llm_base_url))]
        served = [m.get("id") for m in listed.json().get("data", [])]
        if settings.llm_model not in served:
            fix = f"set LLM_MODEL to one of {served}"
            detail = f"LLM_MODEL={settings.llm_model} is not served"
            return [*found, Finding("model served", False, detail, fix)]
        found.append(Finding("model served", True, settings.llm_model))
        try:
            answer = http.post("/chat/completions", json=probe_body(settings.llm_model))
        except httpx.HTTPError as exc:
            return [*found, Finding("tool-call probe", False, str(exc), "see the server's log")]
    return [*found, _mode_finding(settings, classify(answer))]


def _mode_finding(settings: Settings, result) -> Finding:
    mode = settings.tool_call_mode.value
    detail = f"{result.detail}; TOOL_CALL_MODE fits: {', '.join(result.fits)} (now {mode})"
    if mode in result.fits:
        return Finding("tool-call mode", True, detail)
    return Finding("tool-call mode", False, detail, f"set TOOL_CALL_MODE={result.fits[0]}")


def check_database(settings: Settings) -> Finding:
    """Open the session store the way `serve` does (creating its tables; a running service
    may share the file)."""
    from graph.store import open_store

    async def open_it() -> None:
        async with open_store(settings.database_url, 10.0, 1):
            pass

    try:
        asyncio.run(open_it())
    except Exception as exc:
        fix = "point DATABASE_URL at a writable file (sqlite:///PATH) or a reachable Postgres"
        return Finding("database writable", False, f"{type(exc).__name__}: {exc}", fix)
    return Finding("database writable", True, settings.database_url.split("@")[-1])


def check_mcp_servers(settings: Settings) -> list[Finding]:
    """Start every configured MCP server and list its tools."""
    from mcp_tools.loader import open_tools

    async def sources() -> list:
        async with open_tools(settings) as registry:
            return list(registry.sources.values())

    found = []
    for source in asyncio.run(sources()):
        name = f"MCP server {source.name}"
        if source.ok:
            found.append(Finding(name, True, f"{source.tool_count} tools"))
        else:
            fix = f"fix or remove {source.name!r} in {settings.mcp_config_path}"
            found.append(Finding(name, False, str(source.error), fix))
    return found


def check_port(settings: Settings, running: RunningService | None = None) -> Finding:
    """Whether `serve` could bind API_HOST:API_PORT; when oss-agent already runs there, how
    that service is (its /ready)."""
    if running is not None:
        return _service_finding(running)
    with socket.socket() as sock:
        try:
            sock.bind((settings.api_host, settings.api_port))
        except OSError as exc:
            fix = "stop what uses it, or set API_PORT to a free port"
            return Finding(
                "port free", False, f"{settings.api_host}:{settings.api_port}: {exc}", fix
            )
    return Finding("port free", True, f"{settings.api_host}:{settings.api_port}")


def _service_finding(running: RunningService) -> Finding:
    name = "oss-agent service"
    where = f"already running at {running.url}"
    if running.details.get("demo"):
        where += " in demo mode (its answers come from the built-in demo model)"
    if running.ready:
        return Finding(name, True, f"{where}; its /ready: ready")
    problems = "; ".join(running.problems()) or "not ready (a client key shows why)"
    detail = f"{where}; its /ready: {problems}"
    return Finding(name, False, detail, f"see {running.url}/ready and the service's log")


def diagnose(settings: Settings) -> list[Finding]:
    """Every finding, in the order a new user would fix them. When the service already runs
    on API_HOST:API_PORT, the port is checked through it."""
    running = running_service(settings)
    return [
        *check_model_server(settings),
        check_database(settings),
        *check_mcp_servers(settings),
        check_port(settings, running),
    ]
