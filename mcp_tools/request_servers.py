"""MCP servers named in a request (the Responses API's `mcp` tool), connected for one turn.

Only hosts the operator lists in MCP_REQUEST_SERVERS_ALLOW are reached: a request could
otherwise make the service call any address it can reach (its own admin ports, the LAN,
cloud metadata). An entry is a host name or a glob (`*.example.com`); `https` is required
unless the entry is written `http://host`. A host matched only by a glob must resolve to
public addresses; a host the operator names exactly may resolve to a private one (an MCP
server inside the cluster). The address is checked when the turn starts; the MCP client
resolves the name again when it connects, so a host whose DNS an attacker controls could
answer differently the second time: list only hosts whose DNS you trust.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from langchain_core.tools import ToolException

from agent.errors import AgentError
from agent.settings import Settings
from mcp_tools.builtin.netguard import forbidden_kind, normalize_host, resolve
from mcp_tools.mcp_config import McpServerConfig
from mcp_tools.registry import ToolEntry

CONNECT_TIMEOUT = 10.0
"""Seconds a request's MCP server gets to connect and list its tools."""
ALLOW_SETTING = "MCP_REQUEST_SERVERS_ALLOW"


@dataclass(frozen=True)
class RequestServer:
    """One `{"type": "mcp", ...}` tool of a request."""

    label: str
    url: str
    allowed_tools: tuple[str, ...] | None = None
    approval: str | frozenset[str] = "always"
    """`always`, `never`, or the tool names that need no approval (`{"never": {...}}`)."""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, tool: dict[str, Any], where: str) -> RequestServer:
        """The server a request names, or the 400 naming what is wrong."""
        label, url = tool.get("server_label"), tool.get("server_url")
        if not isinstance(label, str) or not label.strip():
            raise _bad(f"{where}.server_label must name the server.", f"{where}.server_label")
        if not isinstance(url, str) or not url:
            raise _bad(
                f"{where}.server_url must be the server's URL (connectors are not available).",
                f"{where}.server_url",
            )
        headers = tool.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise _bad(f"{where}.headers must map names to strings.", f"{where}.headers")
        return cls(
            label.strip(),
            url,
            _allowed_tools(tool.get("allowed_tools"), where),
            _approval(tool.get("require_approval", "always"), where),
            headers,
        )

    def needs_approval(self, tool: str) -> bool:
        if isinstance(self.approval, frozenset):
            return tool not in self.approval
        return self.approval == "always"


async def check_allowed(server: RequestServer, allow: list[str], where: str) -> None:
    """The 400 for a server the operator does not allow (host, scheme, address)."""
    parts = urlsplit(server.url)
    host = normalize_host(parts.hostname or "")
    if not allow:
        raise _bad(
            f"{where}: MCP servers named in a request are off on this service; the operator"
            f" allows hosts with {ALLOW_SETTING}.",
            f"{where}.server_url",
        )
    plain = {normalize_host(e.removeprefix("http://")) for e in allow if e.startswith("http://")}
    exact = {normalize_host(e.removeprefix("http://")) for e in allow}
    matched = host in exact or any(fnmatchcase(host, normalize_host(e)) for e in allow)
    if parts.scheme not in ("https", "http") or not host or not matched:
        raise _bad(
            f"{where}.server_url: {host or server.url!r} is not among the hosts {ALLOW_SETTING}"
            " allows.",
            f"{where}.server_url",
        )
    if parts.scheme == "http" and host not in plain:
        raise _bad(
            f"{where}.server_url must use https ({ALLOW_SETTING} allows plain http only for"
            " hosts written http://host).",
            f"{where}.server_url",
        )
    if host not in exact:
        await _check_public(host, parts.port or (443 if parts.scheme == "https" else 80), where)


async def _check_public(host: str, port: int, where: str) -> None:
    try:
        addresses = await resolve(host, port)
    except ToolException as exc:
        raise _bad(f"{where}.server_url: {exc}", f"{where}.server_url") from None
    for ip in addresses:
        if kind := forbidden_kind(ipaddress.ip_address(ip)):
            raise _bad(
                f"{where}.server_url: {host!r} resolves to {ip}, {kind}; only a host"
                f" {ALLOW_SETTING} names exactly may.",
                f"{where}.server_url",
            )


@asynccontextmanager
async def open_request_servers(
    servers: list[RequestServer], settings: Settings, taken: set[str]
) -> AsyncIterator[tuple[list[ToolEntry], frozenset[str]]]:
    """The servers' tools for one turn (named `<label>_<tool>` where a name is `taken`),
    and the names of those that need approval; the connections close with the turn. The
    MCP SDK (seconds to import) is imported by the first request that names a server."""
    from mcp_tools.mcp_client import start_server

    started = await asyncio.gather(
        *(start_server(_config(s), settings, CONNECT_TIMEOUT) for s in servers)
    )
    try:
        entries: list[ToolEntry] = []
        approval: set[str] = set()
        for server, (_connection, listed, status) in zip(servers, started, strict=True):
            if not status.ok:
                raise AgentError(
                    f"The MCP server {server.label!r} at {server.url} could not be used:"
                    f" {status.error}",
                    param="tools",
                    code="mcp_server_error",
                )
            for entry in listed:
                if server.allowed_tools is not None and entry.name not in server.allowed_tools:
                    continue
                original = entry.name
                if original in taken:
                    entry.tool = entry.tool.model_copy(
                        update={"name": f"{server.label}_{original}"}
                    )
                taken.add(entry.name)
                entries.append(entry)
                if server.needs_approval(original):
                    approval.add(entry.name)
        yield entries, frozenset(approval)
    finally:
        await asyncio.gather(*(connection.aclose() for connection, _, _ in started))


def _config(server: RequestServer) -> McpServerConfig:
    return McpServerConfig(
        name=server.label, transport="streamable_http", url=server.url, headers=server.headers
    )


def _allowed_tools(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, dict):  # {"tool_names": [...]}
        value = value.get("tool_names")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"{where}.allowed_tools must be a list of tool names.", f"{where}.allowed_tools")
    return tuple(value)


def _approval(value: Any, where: str) -> str | frozenset[str]:
    if value in ("always", "never"):
        return value
    never = value.get("never") if isinstance(value, dict) else None
    names = never.get("tool_names") if isinstance(never, dict) else None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return frozenset(names)
    raise _bad(
        f'{where}.require_approval must be "always", "never" or'
        ' {"never": {"tool_names": [...]}}.',
        f"{where}.require_approval",
    )


def _bad(message: str, param: str) -> AgentError:
    return AgentError(message, param=param, code="invalid_request")
