"""What one model step is asked: the typed request the step and its strategies read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from agent.settings import ToolCallMode


@dataclass
class ModelCall:
    """Everything one model step needs."""

    messages: list[BaseMessage]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """Sampling options and `model`, sent as they are; `extra_body` merged into the body."""
    stream: bool = False
    mode: ToolCallMode = ToolCallMode.AUTO
    reasks: int = 2
    reasoning_opened: bool = False
    """The chat template opened `<think>` (REASONING_OPENED_IN_PROMPT)."""
    builtin_tools: frozenset[str] = frozenset()
    """Offered tools that are gpt-oss's own (python, browser_*): harmony declares them in
    the system message; other modes offer them as ordinary functions."""

    @property
    def bind(self) -> dict[str, Any]:
        """`tool_choice` and `parallel_tool_calls`, those that are set, sent with `tools`."""
        bind = {"tool_choice": self.tool_choice, "parallel_tool_calls": self.parallel_tool_calls}
        return {key: value for key, value in bind.items() if value is not None}
