"""One registry of every server-side tool the agent can call: built-ins and MCP servers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.builtin_tools import GPT_OSS_TOOL_NAMES

BUILTIN = "builtin"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "tool"


@dataclass
class ToolEntry:
    """A callable tool and where it came from (`builtin` or an MCP server's name)."""

    tool: BaseTool
    source: str = BUILTIN
    _schema: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The name the model calls the tool by."""
        return self.tool.name

    @property
    def is_gpt_oss_own(self) -> bool:
        """One of gpt-oss's own tools (python, browser_*), declared in harmony's system
        message; an MCP tool of the same name is an ordinary function."""
        return self.source == BUILTIN and self.name in GPT_OSS_TOOL_NAMES

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI function tool (`{"type": "function", "function": {...}}`),
        built once: every model call offers it, and callers never change it."""
        if self._schema is None:
            self._schema = convert_to_openai_tool(self.tool)
        return self._schema


@dataclass
class SourceStatus:
    """Load status of one tool source, shown by readiness and the tool listing."""

    name: str
    ok: bool
    error: str | None = None
    tool_count: int = 0


@dataclass
class ToolRegistry:
    """Tools by name plus the status of every source that was asked for tools."""

    entries: dict[str, ToolEntry] = field(default_factory=dict)
    sources: dict[str, SourceStatus] = field(default_factory=dict)

    def add(self, entry: ToolEntry) -> None:
        """Register a tool; a clashing MCP tool is renamed `<server>_<tool>` (then `_2`...).

        MCP names are made to fit OpenAI's `^[A-Za-z0-9_-]{1,64}$`; the MCP call itself
        still uses the server's own name.
        """
        name = entry.name
        if entry.source != BUILTIN:
            name = self._free_name(_safe(name), entry.source)
        if name in self.entries:
            raise ValueError(f"duplicate built-in tool name {name!r}")
        if name != entry.name:
            entry.tool = entry.tool.model_copy(update={"name": name})
        self.entries[name] = entry

    def _free_name(self, name: str, source: str) -> str:
        if name not in self.entries:
            return name
        prefixed = _safe(f"{source}_{name}")
        candidate, number = prefixed, 1
        while candidate in self.entries:
            number += 1
            candidate = f"{prefixed[:60]}_{number}"
        return candidate

    def get(self, name: str) -> ToolEntry | None:
        """The tool called `name`, if any."""
        return self.entries.get(name)

    def is_gpt_oss_own(self, name: str) -> bool:
        """Is the tool called `name` one of gpt-oss's own (ToolEntry.is_gpt_oss_own)?"""
        entry = self.entries.get(name)
        return entry is not None and entry.is_gpt_oss_own

    def names(self) -> list[str]:
        """Every registered tool name, sorted."""
        return sorted(self.entries)

    def select(self, allowed: list[str] | None) -> list[ToolEntry]:
        """Tools a request may use: all, or only those named in `allowed`."""
        if allowed is None:
            return list(self.entries.values())
        return [self.entries[n] for n in allowed if n in self.entries]
