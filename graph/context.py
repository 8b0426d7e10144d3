"""Per-run settings: what one request (or a Studio assistant) may choose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp_tools.registry import ToolEntry, ToolRegistry


@dataclass
class Context:
    """Run-time configuration of one turn; empty values fall back to the process settings."""

    model: str | None = None
    """Model name sent upstream; unset uses LLM_MODEL."""
    temperature: float | None = None
    """Sampling temperature sent upstream."""
    top_p: float | None = None
    """Nucleus sampling sent upstream."""
    max_tokens: int | None = None
    """Completion token limit per model call."""
    stop: list[str] | None = None
    """Stop sequences."""
    reasoning_effort: str | None = None
    """gpt-oss reasoning effort: low, medium or high."""
    tool_call_mode: str | None = None
    """auto, native, harmony or prompt; unset uses TOOL_CALL_MODE."""
    enabled_tools: list[str] | None = None
    """Server-side tools this run may call; unset means all of them."""
    client_tools: list[dict[str, Any]] = field(default_factory=list)
    """OpenAI function tools declared by the client; the client runs them."""
    tool_choice: str | dict[str, Any] | None = None
    """none, auto, required, or {"type": "function", "function": {"name": ...}}."""
    parallel_tool_calls: bool | None = None
    """False keeps only the first tool call of a reply."""
    stream: bool = False
    """Whether the upstream is asked to stream."""
    upstream_fields: dict[str, Any] = field(default_factory=dict)
    """Other request fields for the model server (response_format, seed, top_k, ...)."""
    request_tools: list[ToolEntry] = field(default_factory=list)
    """Tools of the MCP servers the request named (mcp_tools/request_servers.py), for this
    turn only."""
    approval_required: frozenset[str] = frozenset()
    """Names among `request_tools` that run only once the client approves."""

    def server_tools(self, registry: ToolRegistry) -> list[ToolEntry]:
        """The server-side tools this turn may call: the registry's enabled ones and the
        request's own."""
        return registry.select(self.enabled_tools) + self.request_tools

    @property
    def client_tool_names(self) -> set[str]:
        """Names of the client's tools (the client runs them, not the agent)."""
        return {tool["function"]["name"] for tool in self.client_tools}
