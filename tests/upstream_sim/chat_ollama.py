"""Ollama's OpenAI-compatible chat wire format (ollama/ollama `openai/openai.go`).

Every chunk repeats `role` and `content` (a Go string, so `""` rather than absent);
`reasoning` and `tool_calls` are `omitempty`; tool calls arrive whole, in one chunk.
"""

from __future__ import annotations

import json
from typing import Any

from tests.upstream_sim.turn import ToolCall, Turn

FINGERPRINT = "fp_ollama"


def full(turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.content or ""}
    if turn.reasoning:
        message["reasoning"] = turn.reasoning
    if turn.tool_calls:
        message["tool_calls"] = _tool_calls(turn.tool_calls)
    choice = {"index": 0, "message": message, "finish_reason": turn.finish_reason}
    return {**_envelope(turn, "chat.completion"), "choices": [choice], "usage": usage(turn)}


def chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    out = [_chunk(turn, {"content": "", "reasoning": piece}) for piece in turn.reasoning_pieces]
    out += [_chunk(turn, {"content": piece}) for piece in turn.content_pieces]
    if turn.tool_calls:
        out.append(_chunk(turn, {"content": "", "tool_calls": _tool_calls(turn.tool_calls)}))
    out.append(_chunk(turn, {"content": ""}, turn.finish_reason))
    if include_usage:
        # Ollama copies the last chunk, empties its choices and attaches the usage.
        out.append(
            {**_envelope(turn, "chat.completion.chunk"), "choices": [], "usage": usage(turn)}
        )
    return out


def usage(turn: Turn) -> dict[str, int]:
    u = turn.usage
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {key: u[key] for key in keys}


def _tool_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id,
            "index": index,
            "type": "function",
            "function": {"name": call.name, "arguments": _go_arguments(call.arguments)},
        }
        for index, call in enumerate(calls)
    ]


def _go_arguments(arguments: str | dict[str, Any]) -> str:
    # Ollama re-marshals the parsed argument map: compact, keys sorted (Go map order).
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _chunk(turn: Turn, delta: dict[str, Any], finish_reason: str | None = None) -> dict:
    choice = {"index": 0, "delta": {"role": "assistant", **delta}, "finish_reason": finish_reason}
    return {**_envelope(turn, "chat.completion.chunk"), "choices": [choice]}


def _envelope(turn: Turn, kind: str) -> dict[str, Any]:
    return {
        "id": turn.id,
        "object": kind,
        "created": turn.created,
        "model": turn.model,
        "system_fingerprint": FINGERPRINT,
    }
