"""Process settings, read from the environment and `.env` (pydantic-settings).

Every field maps to the upper-case environment variable of the same name, e.g.
`llm_base_url` <- `LLM_BASE_URL`. `.env.example` documents each one.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ToolCallMode(StrEnum):
    """How tool calls are obtained from the upstream (see docs/tool-call-modes.md)."""

    AUTO = "auto"
    NATIVE = "native"
    HARMONY = "harmony"
    PROMPT = "prompt"


class UpstreamKind(StrEnum):
    """Which kind of server LLM_BASE_URL points at; decides wire-format details."""

    VLLM = "vllm"
    OLLAMA = "ollama"
    LLAMACPP = "llamacpp"
    OPENAI = "openai"  # any other OpenAI-compatible server


class ContextStrategy(StrEnum):
    """What happens to the oldest turns when a session outgrows the context window."""

    DROP = "drop"
    SUMMARIZE = "summarize"


class LogLevel(StrEnum):
    """Log levels accepted by LOG_LEVEL."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    """Log line formats accepted by LOG_FORMAT."""

    TEXT = "text"
    JSON = "json"  # one JSON object per line


BUILTIN_TOOL_NAMES = ("calculator", "datetime", "system_info", "files", "http_fetch")
DEFAULT_BUILTIN_TOOLS = ("calculator", "datetime", "system_info", "files")
GPT_OSS_BUILTIN_TOOLS = ("python", "browser")  # gpt-oss's own tools (BUILTIN_TOOLS)


class SearchBackend(StrEnum):
    SEARXNG = "searxng"  # a self-hosted SearXNG's JSON API at BROWSER_SEARXNG_URL
    DDGS = "ddgs"  # the `ddgs` metasearch library: no key, no server, needs the internet


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Effective configuration of one oss-agent process."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", validate_default=True
    )

    # Upstream model server
    llm_base_url: str = Field(
        "http://localhost:8000/v1",
        description="OpenAI-compatible base URL of the model server (vLLM's default)",
    )
    llm_model: str = Field(
        "openai/gpt-oss-20b", description="model name sent upstream and listed at /v1/models"
    )
    llm_api_key: SecretStr | None = Field(None, description="bearer key for the upstream")
    llm_server: UpstreamKind = Field(
        UpstreamKind.VLLM,
        description="kind of model server: where earlier reasoning is sent back (reasoning,"
        " or reasoning_content for llama.cpp) and which extra request fields it takes",
    )
    llm_timeout: float = Field(
        120.0,
        gt=0,
        description="seconds to wait for the upstream to connect, and for each read of its reply,"
        " before 504",
    )
    llm_max_retries: int = Field(
        1,
        ge=0,
        le=10,
        description="times a model call is sent again to the same server when its connection"
        " failed before any reply byte (never after a timeout, a status or a reply cut short),"
        " only when no other backend serves the model",
    )
    reasoning_effort: str | None = Field(
        None,
        description="gpt-oss reasoning effort low, medium or high; a request's reasoning_effort"
        " wins",
    )
    reasoning_opened_in_prompt: bool = Field(
        False,
        description="the chat template opens <think> in the prompt: content before the first"
        " </think> is reasoning (streamed content waits for that tag or the end)",
    )

    # Tool calling
    tool_call_mode: ToolCallMode = Field(
        ToolCallMode.AUTO,
        description="how tool calls are obtained from the model server (docs: Tool-call modes)",
    )
    tool_call_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="re-asks after an unusable call, or a missing call under tool_choice: required",
    )
    max_steps: int = Field(
        8,
        ge=1,
        le=100,
        description='model calls per turn; then the turn ends with a "step limit" message,'
        " never an error",
    )
    system_prompt: str = Field(
        "You are a helpful assistant. Use the available tools when they help.",
        description="instructions used when a session has none of its own",
    )

    # Context window
    context_window: int | None = Field(
        None,
        ge=512,
        description="tokens per model call, prompt and reply (unset: the server's"
        " max_model_len, else 131072)",
    )
    context_strategy: ContextStrategy = Field(
        ContextStrategy.DROP,
        description="what happens to the oldest turns that no longer fit: drop or summarize",
    )
    context_reply_tokens: int = Field(
        4096,
        ge=16,
        description="tokens kept for the reply when a request sets no max_tokens"
        " (at most a quarter of the window)",
    )

    # HTTP API
    api_host: str = Field("127.0.0.1", description="interface to bind (0.0.0.0 in Docker)")
    api_port: int = Field(8080, ge=1, le=65535, description="port to bind")
    api_key: SecretStr | None = Field(
        None,
        description="when set, clients must send Authorization: Bearer <API_KEY> (not for"
        " /health, /ready, /metrics, /queue/status)",
    )
    api_keys: SecretStr | None = Field(
        None, description="more client keys, comma separated; each key owns the sessions it creates"
    )
    api_keys_file: Path | None = Field(
        None, description="file of client keys, one `key name` per line (# comments)"
    )
    admin_api_key: SecretStr | None = Field(
        None, description="the key allowed to POST/DELETE /v1/backends (it may chat too)"
    )

    # Turn limit
    max_concurrent_turns: int = Field(32, ge=1, description="turns running at once in this process")
    max_queued_turns: int = Field(
        128, ge=0, description="turns waiting for a slot, first come first served; more get 429"
    )
    queue_timeout: float = Field(30.0, ge=0, description="seconds a turn waits before 429")
    deployment_max_turns: int = Field(
        0,
        ge=0,
        description="turns running at once across every process sharing the database"
        " (Postgres, or a SQLite file on one host), background ones included; a turn waits"
        " up to QUEUE_TIMEOUT for one to end, then gets 429. 0: no such limit, each process"
        " has its MAX_CONCURRENT_TURNS",
    )
    key_turn_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="with two or more client keys: the fraction of MAX_CONCURRENT_TURNS and of"
        " MAX_QUEUED_TURNS one key may hold (rounded down, at least one)",
    )
    stream_send_timeout: float = Field(
        30.0,
        gt=0,
        description="seconds one write of a streamed answer may wait for a client that does not"
        " read; then the turn is cancelled and rolled back, as on a disconnect",
    )
    shutdown_grace: float = Field(
        30.0,
        ge=0,
        description="seconds a stopping service (SIGTERM, Ctrl-C) gives the turns it is running"
        " to finish; a turn still running then is cancelled and rolled back. Keep it below the"
        " time the process is given to stop (Kubernetes' terminationGracePeriodSeconds)",
    )

    # Background responses (POST /v1/responses with background: true)
    background_max_running: int = Field(
        8,
        ge=1,
        description="background responses in progress at once across every process sharing"
        " the database (each also takes one of its process's MAX_CONCURRENT_TURNS)",
    )
    background_max_queued: int = Field(
        1000,
        ge=0,
        description="background responses waiting across every process sharing the database;"
        " more get 429. With two or more client keys one key holds at most KEY_TURN_SHARE of"
        " them",
    )
    background_lease: float = Field(
        30.0,
        gt=0,
        description="seconds a process holds a background response without renewing; one"
        " whose process stopped (killed, hung) is ended as failed once this runs out",
    )
    background_events_keep: float = Field(
        3600.0,
        ge=0,
        description="seconds a finished background response's events stay for clients that"
        " resume its stream (GET /v1/responses/{id}?stream=true&starting_after=N)",
    )
    background_max_events: int = Field(
        100_000,
        ge=100,
        description="events kept of one background response; beyond it only its last event"
        " is kept (its response object holds the whole output)",
    )

    # Several model servers
    llm_backends_file: Path | None = Field(
        None, description="YAML or JSON list of model servers; replaces LLM_BASE_URL"
    )
    backend_health_interval: float = Field(
        10.0,
        gt=0,
        description="seconds between health checks of the backends (GET {base_url}/models)",
    )
    backend_sync_interval: float = Field(
        5.0,
        gt=0,
        description="seconds between reads of the backends registered or removed at run time"
        " (POST/DELETE /v1/backends) by any process sharing the database",
    )
    backend_max_failures: int = Field(
        3,
        ge=1,
        description="failures in a row (checks or model calls) before a backend is taken out",
    )

    # Sessions
    database_url: str = Field(
        "sqlite:///./data/oss-agent.db",
        description="sqlite:///PATH, postgresql://USER:PASSWORD@HOST:PORT/DB, or memory://"
        " (nothing kept)",
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        le=200,
        description="Postgres checkpoint connections per process (session locks:"
        " max(DB_POOL_SIZE, MAX_CONCURRENT_TURNS))",
    )
    session_lock_timeout: float = Field(
        60.0, ge=0, description="seconds a turn waits for a busy session before 409"
    )
    session_continuity: bool = Field(
        False,
        description="continue the caller's session whose history a header-less request resends"
        " (needs client keys; binds sessions to the key and the client identity sent)",
    )
    max_sessions_per_key: int = Field(
        10_000, ge=1, description="sessions one key (or the anonymous owner) may keep"
    )

    # Tools
    use_mcp_tools: bool = Field(True, description="load the servers in MCP_CONFIG")
    mcp_config: Path | None = Field(
        None, description="mcpServers JSON file (unset: ./mcp.json when present)"
    )
    mcp_call_timeout: float = Field(
        30.0, gt=0, description="seconds one tool call may take (MCP and built-in)"
    )
    tool_output_max_chars: int = Field(
        16000,
        ge=200,
        description="characters of tool output passed to the model; the rest is cut, with a note",
    )
    tools_enabled: Annotated[list[str], NoDecode] = Field(
        list(DEFAULT_BUILTIN_TOOLS), description="built-in tool groups, comma separated, or none"
    )
    tools_workspace: Path = Field(Path("./workspace"), description="root of the file tools")
    tools_files_write: bool = Field(False, description="register the write_file tool")
    tools_fetch_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="hosts/CIDRs http_fetch may reach despite being private"
    )
    tools_fetch_max_bytes: int = Field(200_000, ge=1024, description="http_fetch download cap")
    tools_require_approval: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="tool names or globs (built-in and MCP) that run only once the client approves",
    )
    mcp_request_servers_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts (or globs, *.example.com) of the MCP servers a Responses request may"
        " name in an `mcp` tool, comma separated; https only, except for an entry written"
        " http://host; a host matched by a glob must resolve to public addresses. Empty: off",
    )

    # gpt-oss's own tools (docs/builtin-tools.md)
    builtin_tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="gpt-oss built-in tools to offer, comma separated: python, browser",
    )
    python_tool_timeout: float = Field(
        20.0, gt=0, description="seconds of wall time one python call may take"
    )
    python_tool_cpu_seconds: int = Field(
        20, ge=1, description="CPU seconds one python call may use"
    )
    python_tool_memory_mb: int = Field(
        512, ge=64, description="address space of a session's python interpreter, in MB"
    )
    python_tool_processes: int = Field(
        32, ge=1, description="processes the python sandbox's user may run at once"
    )
    python_tool_output_bytes: int = Field(
        20_000, ge=256, description="bytes of a python call's output kept (the rest is cut)"
    )
    python_tool_file_mb: int = Field(
        50, ge=1, description="largest file the python code may write, in MB"
    )
    python_tool_idle_seconds: float = Field(
        900.0, gt=0, description="seconds an idle session keeps its python interpreter"
    )
    python_tool_max_interpreters: int = Field(
        8, ge=1, description="python interpreters alive at once, all sessions together"
    )
    python_tool_interpreter: str = Field(
        "/usr/bin/python3", description="python inside the sandbox (must live under /usr)"
    )

    log_level: LogLevel = Field(LogLevel.INFO, description="DEBUG|INFO|WARNING|ERROR")
    log_format: LogFormat = Field(LogFormat.TEXT, description="text|json (one object per line)")

    # Workspace jail and tool caps
    tools_files_allow_hardlinks: bool = Field(
        False, description="let the file tools use files with more than one hard link"
    )
    max_tool_calls_per_reply: int = Field(
        32,
        ge=1,
        description='tool calls of one model reply that run; each one past it gets a "not run"'
        " result naming the setting",
    )
    tool_write_bytes_per_turn: int = Field(
        5_000_000,
        ge=0,
        description="bytes write_file may write in one turn; past it, writes are refused with a"
        " message to the model",
    )

    # Request limits (docs/errors.md, "Limits"): each refusal names its setting
    max_request_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="request body bytes before 413"
    )
    max_messages: int = Field(2048, ge=1, description="messages (or input items) per request")
    max_message_chars: int = Field(
        1_000_000, ge=1, description="characters per message, all text parts together"
    )
    max_tools: int = Field(128, ge=0, description="client tools per request")
    max_tool_schema_bytes: int = Field(
        65536, ge=64, description="bytes of one tool's JSON (name, description, parameters)"
    )
    max_json_depth: int = Field(
        64, ge=8, le=500, description="nesting of any JSON in a request, tool-call arguments too"
    )
    publish_docs: bool = Field(
        False, description="serve /docs, /redoc and /openapi.json without a key when keys are on"
    )

    # Database faults and readiness (issue 14)
    db_connect_timeout: float = Field(
        5.0,
        gt=0,
        description="seconds a request waits for a Postgres connection before 503"
        " database_unavailable (too_many_turns when every connection is busy)",
    )
    ready_cache_seconds: float = Field(
        5.0, ge=0, description="seconds /ready reuses its last answer (0: check every call)"
    )

    # Upstream client
    llm_deadline: float = Field(
        600.0,
        gt=0,
        description="seconds one model call may take in all, however steadily the server"
        " sends (LLM_TIMEOUT bounds connecting and each read)",
    )

    # gpt-oss's browser tool (docs/builtin-tools-browser.md)
    browser_search_backend: SearchBackend = Field(
        SearchBackend.SEARXNG, description="where browser.search looks: searxng|ddgs"
    )
    browser_searxng_url: str = Field(
        "http://localhost:8888",
        description="base URL of the SearXNG instance browser.search asks (JSON format enabled)",
    )
    browser_idle_seconds: float = Field(
        3600.0, gt=0, description="seconds a session's browser pages are kept after last use"
    )
    browser_max_sessions: int = Field(
        256, ge=1, description="sessions whose browser pages are kept at once (least recent go)"
    )

    @field_validator(
        "tools_enabled",
        "tools_fetch_allow",
        "tools_require_approval",
        "mcp_request_servers_allow",
        "builtin_tools",
        mode="before",
    )
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("tools_enabled")
    @classmethod
    def _known_tools(cls, value: list[str]) -> list[str]:
        if value == ["none"]:
            return []
        unknown = sorted(set(value) - set(BUILTIN_TOOL_NAMES))
        if unknown:
            raise ValueError(
                f"unknown built-in tool(s) {unknown}; choose from {list(BUILTIN_TOOL_NAMES)}"
            )
        return value

    @field_validator("builtin_tools")
    @classmethod
    def _known_builtins(cls, value: list[str]) -> list[str]:
        if value == ["none"]:
            return []
        unknown = sorted(set(value) - set(GPT_OSS_BUILTIN_TOOLS))
        if unknown:
            raise ValueError(
                f"unknown gpt-oss tool(s) {unknown}; choose from {list(GPT_OSS_BUILTIN_TOOLS)}"
            )
        return value

    @field_validator("python_tool_interpreter")
    @classmethod
    def _under_usr(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not path.is_absolute() or path.parts[:2] != ("/", "usr") or ".." in path.parts:
            raise ValueError(
                f"{value!r} is not under /usr; the python sandbox sees only /usr, so give an"
                " interpreter there, such as /usr/bin/python3"
            )
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, e.g. http://localhost:8000/v1")
        return value.rstrip("/")

    @field_validator("browser_searxng_url")
    @classmethod
    def _searxng_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL, e.g. http://searxng:8080")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://", "memory://")):
            raise ValueError(
                "expected sqlite:///PATH (e.g. sqlite:///./data/oss-agent.db) "
                "or postgresql://USER@HOST:PORT/DB"
            )
        return value

    @field_validator("reasoning_effort")
    @classmethod
    def _effort(cls, value: str | None) -> str | None:
        if value is not None and value not in ("low", "medium", "high"):
            raise ValueError("expected low, medium or high")
        return value

    @property
    def mcp_config_path(self) -> Path | None:
        """The MCP config to load: MCP_CONFIG, else ./mcp.json when it exists."""
        if self.mcp_config is not None:
            return self.mcp_config
        default = Path("mcp.json")
        return default if default.exists() else None

    @property
    def mcp_config_in_use(self) -> Path | None:
        """The MCP config the service loads: `mcp_config_path`, unless USE_MCP_TOOLS is off."""
        return self.mcp_config_path if self.use_mcp_tools else None

    def masked(self) -> dict[str, str]:
        """Effective settings as env-var names and printable values, secrets masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "****" if value.get_secret_value() else ""
            elif isinstance(value, list):
                text = ",".join(value)
            elif value is None:
                text = ""
            else:
                text = str(value)
            if name in ("database_url", "llm_base_url"):
                text = mask_url_password(text)
            shown[name.upper()] = text
        shown["MCP_CONFIG"] = self._mcp_config_shown()
        return shown

    def _mcp_config_shown(self) -> str:
        """The MCP config file actually loaded, and why when it is not MCP_CONFIG itself."""
        path = self.mcp_config_path
        if path is None:
            return "none (no ./mcp.json)"
        found = " (found in the working directory)" if self.mcp_config is None else ""
        unused = " (not loaded: USE_MCP_TOOLS=false)" if not self.use_mcp_tools else ""
        return f"{path.resolve()}{found}{unused}"


def mask_url_password(url: str) -> str:
    """Hide the password part of a URL such as postgresql://user:secret@host/db."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, at, host = rest.rpartition("@")
    user, colon, _ = creds.partition(":")
    return f"{scheme}://{user}{':****' if colon else ''}{at}{host}"


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s@/]+@", re.IGNORECASE)


def mask_url_passwords_in(text: str) -> str:
    """`text` with the password of every URL in it hidden (log lines, error messages)."""
    return _URL_PASSWORD.sub(r"\1:****@", text)


def describe_errors(error: ValidationError) -> list[str]:
    """One line per bad variable: its name, what was wrong and what is expected."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "?"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own `Settings`)."""
    return Settings()
