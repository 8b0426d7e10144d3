"""What the graph's nodes need from the process: settings, the model servers, the tools."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.llm.backend_pool import BackendPool
from agent.settings import Settings
from mcp_tools.registry import ToolRegistry


@dataclass
class AgentDeps:
    """Long-lived dependencies shared by every run of the graph."""

    settings: Settings
    backends: BackendPool
    tools: ToolRegistry = field(default_factory=ToolRegistry)

    @classmethod
    def create(
        cls,
        settings: Settings,
        tools: ToolRegistry | None = None,
        backends: BackendPool | None = None,
    ) -> AgentDeps:
        """Dependencies for `settings`; the backends of the settings unless given."""
        return cls(
            settings=settings,
            backends=backends or BackendPool.from_settings(settings),
            tools=tools or ToolRegistry(),
        )
