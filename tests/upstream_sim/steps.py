"""What a scripted model turn looks like, and the per-process flavor settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FlavorName = Literal["vllm", "ollama", "llamacpp", "raw"]
ReasoningField = Literal["reasoning", "reasoning_content", "both"]
RawStyle = Literal["special", "stripped"]
# vLLM releases whose chat wire format the `vllm` flavor speaks: "0.32" (the default, checked
# against the real engine by tests/engine) and "0.10" (reasoning_content, `tool_calls: []`
# always, named tool_choice reported as `tool_calls`).
VllmVersion = Literal["0.32", "0.10"]
Fault = Literal["error500", "status", "hang", "reset", "drop", "stall", "error_event"]


class _Strict(BaseModel):
    # A typo in a test's script must fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid")


class ToolCallSpec(_Strict):
    """One tool call the "model" makes; name and arguments are passed through untouched."""

    name: str
    arguments: str | dict[str, Any] = "{}"
    id: str | None = None


class Step(_Strict):
    """One scripted answer. Every field is optional; see the README section in __init__."""

    reasoning: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallSpec] = Field(default_factory=list)
    text: str | None = None
    reasoning_chunks: list[str] | None = None
    content_chunks: list[str] | None = None
    finish_reason: str | None = None
    stop_reason: int | str | None = None
    usage: dict[str, int] | None = None
    model: str | None = None
    flavor: FlavorName | None = None
    reasoning_field: ReasoningField | None = None
    raw_style: RawStyle | None = None
    chunk_size: int | None = Field(None, ge=1)
    delay: float = 0.0
    chunk_delay: float = 0.0
    fault: Fault | None = None
    fault_after: int | None = Field(None, ge=0)
    status: int | None = None
    message: str | None = None
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    response: Any = None
    sse: list[str] | None = None
    sse_done: bool = True


class Rule(_Strict):
    """Answer `step` whenever the last user message contains `marker`."""

    marker: str
    step: Step
    times: int | None = Field(None, ge=1)
    used: int = 0


class FlavorConfig(_Strict):
    """Which server the simulator impersonates, with its options."""

    name: FlavorName = "vllm"
    vllm_version: VllmVersion = "0.32"
    # False: vLLM started without --tool-call-parser (0.10 refuses tools with a 400, 0.32
    # drops the model's calls)
    tool_parser: bool = True
    reasoning_field: ReasoningField | None = None  # None: the version's own field
    raw_style: RawStyle = "special"
    chunk_size: int = Field(8, ge=1)
    served_model: str | None = None

    @property
    def current_vllm(self) -> bool:
        return self.vllm_version != "0.10"

    def reasoning_key(self) -> ReasoningField:
        if self.reasoning_field is not None:
            return self.reasoning_field
        return "reasoning" if self.current_vllm else "reasoning_content"

    def for_step(self, step: Step) -> FlavorConfig:
        """This config with the step's own overrides applied."""
        overrides = {
            "name": step.flavor,
            "reasoning_field": step.reasoning_field,
            "raw_style": step.raw_style,
            "chunk_size": step.chunk_size,
        }
        return self.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def default_step(user_text: str) -> Step:
    """The deterministic answer given when nothing is scripted."""
    return Step(
        reasoning=f"The user wrote: {user_text}. I will echo it.",
        content=f"echo: {user_text}",
    )
