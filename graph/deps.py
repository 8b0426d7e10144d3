"""What the graph's nodes need from the process: settings, the model client, the tools."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.model import ReasoningChatOpenAI, make_chat_model
from agent.settings import Settings
from mcp_tools.registry import ToolRegistry


@dataclass
class AgentDeps:
    """Long-lived dependencies shared by every run of the graph."""

    settings: Settings
    llm: ReasoningChatOpenAI
    tools: ToolRegistry = field(default_factory=ToolRegistry)

    @classmethod
    def create(cls, settings: Settings, tools: ToolRegistry | None = None) -> AgentDeps:
        """Dependencies for `settings`, with an empty registry unless one is given."""
        return cls(settings=settings, llm=make_chat_model(settings), tools=tools or ToolRegistry())
