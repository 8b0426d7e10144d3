"""Read an `mcpServers` JSON file (the Claude Desktop / Cursor / Claude Code convention).

Stdio entries: `command`, `args`, `env`, `cwd`. Remote entries: `url`, `headers`, and
`transport` (or Claude Code's `type`): `streamable_http` (also `http`, `streamable-http`,
the default for a bare `url`) or `sse`. Per entry, optionally: `"disabled": true`,
`"timeout"` (seconds per call) and `"startup_timeout"` (seconds to connect).
`${VAR}` and `${VAR:-default}` are expanded in every string value (command, args, env,
cwd, url, headers).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Transport = Literal["stdio", "streamable_http", "sse"]

_TRANSPORT_ALIASES: dict[str, Transport] = {
    "stdio": "stdio",
    "streamable_http": "streamable_http",
    "streamable-http": "streamable_http",
    "http": "streamable_http",
    "sse": "sse",
}
logger = logging.getLogger(__name__)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpConfigError(Exception):
    """The config file, or one entry of it, cannot be used."""


def expand_vars(value: str) -> str:
    """Replace `${VAR}` / `${VAR:-default}` from the environment; unset without default fails."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        current = os.environ.get(name)
        if current is not None and (current or default is None):
            return current
        if default is not None:
            return default
        raise ValueError(f"environment variable {name} is not set (write ${{{name}:-default}})")

    return _VAR.sub(substitute, value)


class McpServerConfig(BaseModel):
    """One validated server entry, with variables already expanded."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    name: str
    transport: Transport
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    disabled: bool = False
    timeout: float | None = Field(None, gt=0, description="seconds per call")
    startup_timeout: float | None = Field(None, gt=0, description="seconds to connect")

    @model_validator(mode="before")
    @classmethod
    def _pick_transport(cls, data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        kind = data.pop("type", None)
        given = data.get("transport", kind)
        if given is None:
            data["transport"] = "stdio" if "command" in data else "streamable_http"
        elif isinstance(given, str) and given.lower() in _TRANSPORT_ALIASES:
            data["transport"] = _TRANSPORT_ALIASES[given.lower()]
        else:
            choices = ", ".join(_TRANSPORT_ALIASES)
            raise ValueError(f"unknown transport/type {given!r}; expected one of {choices}")
        return data

    @model_validator(mode="after")
    def _check_and_expand(self) -> McpServerConfig:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either `command` (a stdio server) or `url` (a remote one)")
        if (self.transport == "stdio") != bool(self.command):
            needs = "`command`" if self.transport == "stdio" else "`url`"
            raise ValueError(f"a {self.transport} server needs {needs}")
        self.command = self.command and _expand(self.command, "command")
        self.cwd = self.cwd and _expand(self.cwd, "cwd")
        self.args = [_expand(value, f"args[{i}]") for i, value in enumerate(self.args)]
        if self.url:
            self.url = _expand(self.url, "url")
            if not self.url.startswith(("http://", "https://")):
                raise ValueError("url: must start with http:// or https://")
        if self.env is not None:
            self.env = {key: _expand(value, f"env.{key}") for key, value in self.env.items()}
        if self.headers is not None:
            self.headers = {k: _expand(v, f"headers.{k}") for k, v in self.headers.items()}
        return self

    def connection(self) -> dict[str, Any]:
        """The langchain-mcp-adapters connection dict for this server."""
        base: dict[str, Any]
        if self.transport == "stdio":
            base = {"transport": "stdio", "command": self.command, "args": self.args}
            extra = {"env": self.env, "cwd": self.cwd}
        else:
            base = {"transport": self.transport, "url": self.url}
            extra = {"headers": self.headers}
        return base | {key: value for key, value in extra.items() if value is not None}


def _expand(value: str, key: str) -> str:
    try:
        return expand_vars(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


@dataclass
class McpConfig:
    """The usable servers of a config file and a reason for each entry that is not."""

    servers: list[McpServerConfig] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)


def read_mcp_config(path: Path) -> McpConfig:
    """Parse `path`; a bad file raises McpConfigError, a bad entry lands in `errors`."""
    entries = _read_entries(path)
    config = McpConfig()
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            config.errors[name] = f"server {name!r}: expected an object with `command` or `url`"
            continue
        if entry.get("disabled") is True:  # not validated: it may name unset variables
            config.disabled.append(name)
            continue
        _warn_unknown_keys(name, entry)
        try:
            server = McpServerConfig.model_validate({**entry, "name": name})
        except ValidationError as exc:
            config.errors[name] = describe_entry_error(name, exc)
            continue
        config.servers.append(server)
    return config


def _warn_unknown_keys(name: str, entry: dict[str, Any]) -> None:
    unknown = sorted(set(entry) - set(McpServerConfig.model_fields) - {"type"})
    if unknown:
        logger.warning("MCP server %r: ignoring unknown key(s) %s", name, ", ".join(unknown))


def _read_entries(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise McpConfigError(f"cannot read MCP config {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise McpConfigError(f"MCP config {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise McpConfigError(f'MCP config {path}: expected an object with "mcpServers"')
    entries = data.get("mcpServers", data.get("servers"))  # `servers`: the VS Code spelling
    if not isinstance(entries, dict):
        raise McpConfigError(f'MCP config {path}: expected "mcpServers" to be an object')
    return entries


def describe_entry_error(name: str, error: ValidationError) -> str:
    """One line per problem, naming the server and the key, e.g. `server 'x': args: ...`."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"] if part != "__root__")
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return f"server {name!r}: " + "; ".join(dict.fromkeys(problems))
