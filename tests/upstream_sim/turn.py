"""A scripted step resolved against one request: the model turn every flavor formats."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.upstream_sim import harmony, tool_rules, wire
from tests.upstream_sim.steps import FlavorConfig, Step

DEFAULT_MODELS = {
    "vllm": "openai/gpt-oss-20b",
    "raw": "openai/gpt-oss-20b",
    "ollama": "gpt-oss:20b",
    "llamacpp": "gpt-oss-20b",
}


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str | dict[str, Any]


@dataclass
class Turn:
    """Everything a flavor needs to write one response, streamed or not."""

    flavor: FlavorConfig
    id: str
    model: str
    reasoning: str | None = None
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    stop_reason: int | str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    reasoning_pieces: list[str] = field(default_factory=list)
    content_pieces: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))

    def pieces(self, text: str) -> list[str]:
        return wire.split_text(text, self.flavor.chunk_size)


def model_name(flavor: FlavorConfig, step: Step, body: dict[str, Any]) -> str:
    """The `model` the server reports: the requested one, as the real servers echo it."""
    fallback = flavor.served_model or DEFAULT_MODELS[flavor.name]
    return step.model or body.get("model") or fallback


def chat_turn(step: Step, body: dict[str, Any], flavor: FlavorConfig) -> Turn:
    """Resolve a step for /v1/chat/completions."""
    if flavor.name == "raw":
        return _raw_chat_turn(step, body, flavor)
    turn = Turn(flavor=flavor, id=wire.chat_id(flavor.name), model=model_name(flavor, step, body))
    turn.reasoning = step.reasoning
    turn.content = step.content if step.content is not None else step.text
    turn.tool_calls = [
        ToolCall(id=c.id or wire.tool_call_id(flavor.name), name=c.name, arguments=c.arguments)
        for c in step.tool_calls
    ]
    turn.stop_reason = harmony.stop_reason_for(step)
    if tool_rules.drops_calls(flavor):
        turn.tool_calls = []
    turn.finish_reason = step.finish_reason or _finish(turn, body, flavor)
    turn.reasoning_pieces = _pieces(turn, step.reasoning_chunks, turn.reasoning)
    turn.content_pieces = _pieces(turn, step.content_chunks, turn.content)
    generated = [turn.reasoning or "", turn.content or ""]
    generated += [harmony.arguments_text(c.arguments) for c in turn.tool_calls]
    turn.usage = _usage(body.get("messages"), "".join(generated), step)
    return turn


def _finish(turn: Turn, body: dict[str, Any], flavor: FlavorConfig) -> str:
    """vLLM 0.32 reports a call forced by a named tool_choice as `stop`."""
    if not turn.tool_calls or (flavor.current_vllm and tool_rules.named_choice(body)):
        return "stop"
    return "tool_calls"


def _raw_chat_turn(step: Step, body: dict[str, Any], flavor: FlavorConfig) -> Turn:
    """No parser on the server: the model's text, markup and all, is the content."""
    turn = Turn(flavor=flavor, id=wire.chat_id("vllm"), model=model_name(flavor, step, body))
    text = step.text if step.text is not None else harmony.render(step, flavor.raw_style)
    turn.content, matched_stop = harmony.apply_stop(text, body.get("stop"))
    turn.finish_reason = step.finish_reason or "stop"
    turn.stop_reason = matched_stop if matched_stop is not None else step.stop_reason
    turn.content_pieces = _pieces(turn, step.content_chunks, turn.content)
    turn.usage = _usage(body.get("messages"), turn.content, step)
    return turn


DEFAULT_COMPLETION_TOKENS = 16


def completion_turn(step: Step, body: dict[str, Any], flavor: FlavorConfig) -> Turn:
    """Resolve a step for /v1/completions: the turn's content is the completion text."""
    turn = Turn(
        flavor=flavor, id=wire.completion_id(flavor.name), model=model_name(flavor, step, body)
    )
    if step.text is not None:
        text, stop_reason = step.text, step.stop_reason
    else:
        text, stop_reason = harmony.render(step), harmony.stop_reason_for(step)
    if flavor.name in ("vllm", "raw") and body.get("skip_special_tokens", True):
        text = wire.strip_special(text)
    turn.content, matched_stop = harmony.apply_stop(text, body.get("stop"))
    turn.finish_reason = step.finish_reason or "stop"
    turn.stop_reason = matched_stop if matched_stop is not None else stop_reason
    turn.usage = _usage(body.get("prompt"), turn.content, step)
    if flavor.name == "vllm" and body.get("max_tokens") is None:
        _cut_to_default_budget(turn)
    turn.content_pieces = _pieces(turn, step.content_chunks, turn.content)
    return turn


def _cut_to_default_budget(turn: Turn) -> None:
    """vLLM keeps OpenAI's legacy completions default (also for `max_tokens: null`): 16
    tokens. The simulator counts 4 characters a token."""
    if turn.usage["completion_tokens"] <= DEFAULT_COMPLETION_TOKENS:
        return
    turn.content = (turn.content or "")[: 4 * DEFAULT_COMPLETION_TOKENS]
    turn.finish_reason, turn.stop_reason = "length", None
    turn.usage["completion_tokens"] = DEFAULT_COMPLETION_TOKENS
    turn.usage["total_tokens"] = turn.usage["prompt_tokens"] + DEFAULT_COMPLETION_TOKENS


def _pieces(turn: Turn, scripted: list[str] | None, text: str | None) -> list[str]:
    if scripted is not None:
        return list(scripted)
    return turn.pieces(text) if text else []


def _usage(prompt: Any, generated: str, step: Step) -> dict[str, int]:
    prompt_tokens = wire.estimate_tokens(prompt or "")
    return wire.usage(prompt_tokens, wire.estimate_tokens(generated), step.usage)
