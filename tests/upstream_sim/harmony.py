"""Harmony text: render a scripted step as raw model output, and read prompts."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.upstream_sim.steps import RawStyle, Step
from tests.upstream_sim.wire import strip_special

CALL_TOKEN_ID = 200012  # <|call|>; vLLM reports it as stop_reason (<|return|> is the EOS)
_STOP_TOKENS = ("<|call|>", "<|return|>")
_USER_TURN = re.compile(r"<\|start\|>user<\|message\|>(.*?)(?:<\|end\|>|$)", re.DOTALL)


def arguments_text(arguments: str | dict[str, Any]) -> str:
    """Arguments as the model writes them: strings verbatim, objects as compact JSON."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def render(step: Step, style: RawStyle = "special") -> str:
    """The completion a gpt-oss model would generate for this step.

    The text follows a prompt ending in `<|start|>assistant`; the final stop token is
    left out, as servers do not return it.
    """
    messages: list[str] = []
    if step.reasoning:
        messages.append(f"<|channel|>analysis<|message|>{step.reasoning}<|end|>")
    if step.tool_calls and step.content:
        messages.append(f"<|channel|>commentary<|message|>{step.content}<|end|>")
    for call in step.tool_calls:
        header = f"<|channel|>commentary to=functions.{call.name} <|constrain|>json"
        messages.append(f"{header}<|message|>{arguments_text(call.arguments)}<|call|>")
    if not step.tool_calls:
        messages.append(f"<|channel|>final<|message|>{step.content or ''}<|return|>")
    text = "<|start|>assistant".join(messages)
    for token in _STOP_TOKENS:
        text = text.removesuffix(token)
    return strip_special(text) if style == "stripped" else text


def stop_reason_for(step: Step) -> int | str | None:
    """vLLM's stop_reason: the <|call|> token id after a call, None after EOS."""
    if step.stop_reason is not None:
        return step.stop_reason
    return CALL_TOKEN_ID if step.tool_calls else None


def apply_stop(text: str, stop: Any) -> tuple[str, str | None]:
    """Cut `text` at the earliest stop string, as servers do (the stop string is dropped)."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    hits = [(text.find(s), s) for s in stops if s and s in text]
    if not hits:
        return text, None
    position, matched = min(hits)
    return text[:position], matched


def last_user_text_in_prompt(prompt: str) -> str:
    """The last user message of a rendered harmony prompt, or the whole prompt."""
    turns = _USER_TURN.findall(prompt)
    return turns[-1] if turns else prompt


def last_user_text(messages: Any) -> str:
    """Text of the last user message of a chat request ("" when there is none)."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return ""
