"""What one model step is asked (`ModelCall`, the typed request the step and its
strategies read) and what it yields to the graph node: the text of each network read as it
comes (`Deltas`), then the one reply (`ModelReply`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from langchain_core.messages import BaseMessage

from agent.settings import ToolCallMode
from agent.toolcalls.types import InvalidCall, ToolCall


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


Deltas = list[tuple[str, str]]
"""The text one network read brought, in order: ("content" | "reasoning", text) pairs."""


@dataclass
class ModelReply:
    """One model reply, cleaned: the text the client was shown and its checked calls.

    `calls` keep the model's order; unusable calls (`InvalidCall`) stay, so the model can be
    told what was wrong. `finish_reason` is `length` when the token limit cut the reply
    (a call it cut off is dropped), `tool_calls` when calls remain, else `stop`.
    """

    content: str = ""
    reasoning: str = ""
    calls: list[ToolCall | InvalidCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: int | str | None = None
    """vLLM's `stop_reason`: the stop token or string that ended the reply, if sent."""

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """LangChain tool calls (id, name, args); an unusable call keeps what was recovered."""
        return [_langchain_call(call) for call in self.calls]

    @property
    def errors(self) -> dict[str, str]:
        """Id of each unusable call -> what the model must be told about it."""
        return {c.id or "": c.error for c in self.calls if isinstance(c, InvalidCall)}


def _langchain_call(call: ToolCall | InvalidCall) -> dict[str, Any]:
    if isinstance(call, ToolCall):
        return {"id": call.id, "name": call.name, "args": call.arguments}
    args = call.arguments if call.arguments is not None else {"__raw__": call.raw_arguments}
    return {"id": call.id, "name": call.name or "unknown", "args": args}


StepItem = Deltas | ModelReply
"""A step's items: `Deltas` as the reply forms, and last the `ModelReply`."""


class StepRead:
    """Reads a step's items: iterating gives the deltas, and `reply` is the reply that ended
    them. Leaving the block closes the items (the model call stops at once).

        async with StepRead(run_step(pool, call)) as step:
            async for deltas in step:
                ...
        reply = step.reply
    """

    def __init__(self, items: AsyncIterator[StepItem]) -> None:
        self._items = items
        self._reply: ModelReply | None = None

    async def __aenter__(self) -> StepRead:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self._items.aclose()  # type: ignore[attr-defined]

    async def __aiter__(self) -> AsyncIterator[Deltas]:
        async for item in self._items:
            if isinstance(item, ModelReply):
                self._reply = item
            else:
                yield item

    @property
    def reply(self) -> ModelReply:
        if self._reply is None:
            raise RuntimeError("the step's items ended without its reply")
        return self._reply
