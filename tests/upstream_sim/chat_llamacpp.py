"""llama.cpp server's chat wire format, as recorded from llama-server b6865 (corpus C27a/b).

Keys come in llama.cpp's (nlohmann::json, alphabetical-ish) order; reasoning is
`reasoning_content`; the first tool-call chunk already carries an argument fragment;
usage travels with `timings`.
"""

from __future__ import annotations

from typing import Any

from tests.upstream_sim.harmony import arguments_text
from tests.upstream_sim.turn import ToolCall, Turn

FINGERPRINT = "b6865-1c1409e13"


def full(turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if turn.reasoning:
        message["reasoning_content"] = turn.reasoning
    message["content"] = None if turn.tool_calls and not turn.content else (turn.content or "")
    if turn.tool_calls:
        message["tool_calls"] = [_tool_call(call) for call in turn.tool_calls]
    choice = {"finish_reason": turn.finish_reason, "index": 0, "message": message}
    return {
        "choices": [choice],
        "created": turn.created,
        "model": turn.model,
        "system_fingerprint": FINGERPRINT,
        "object": "chat.completion",
        "usage": usage(turn),
        "id": turn.id,
        "timings": timings(turn),
    }


def chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    out = [_chunk(turn, {"role": "assistant", "content": None})]
    out += [_chunk(turn, {"reasoning_content": piece}) for piece in turn.reasoning_pieces]
    out += [_chunk(turn, {"content": piece}) for piece in turn.content_pieces]
    for index, call in enumerate(turn.tool_calls):
        out += _tool_call_chunks(turn, index, call)
    out.append(_chunk(turn, {}, turn.finish_reason))
    if include_usage:
        last = _chunk(turn, {})
        out.append({**last, "choices": [], "usage": usage(turn), "timings": timings(turn)})
    return out


def usage(turn: Turn) -> dict[str, int]:
    u = turn.usage
    keys = ("completion_tokens", "prompt_tokens", "total_tokens")
    return {key: u[key] for key in keys}


def timings(turn: Turn) -> dict[str, float]:
    prompt_n, predicted_n = turn.usage["prompt_tokens"], turn.usage["completion_tokens"]
    return {
        "cache_n": 0,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_n * 4.0,
        "prompt_per_token_ms": 4.0,
        "prompt_per_second": 250.0,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_n * 14.0,
        "predicted_per_token_ms": 14.0,
        "predicted_per_second": 1000.0 / 14.0,
    }


def _tool_call(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": arguments_text(call.arguments)}
    return {"type": "function", "function": function, "id": call.id}


def _tool_call_chunks(turn: Turn, index: int, call: ToolCall) -> list[dict[str, Any]]:
    pieces = turn.pieces(arguments_text(call.arguments)) or [""]
    function = {"name": call.name, "arguments": pieces[0]}
    opening = {"index": index, "id": call.id, "type": "function", "function": function}
    out = [_chunk(turn, {"tool_calls": [opening]})]
    for piece in pieces[1:]:
        fragment = {"index": index, "function": {"arguments": piece}}
        out.append(_chunk(turn, {"tool_calls": [fragment]}))
    return out


def _chunk(turn: Turn, delta: dict[str, Any], finish_reason: str | None = None) -> dict:
    return {
        "choices": [{"finish_reason": finish_reason, "index": 0, "delta": delta}],
        "created": turn.created,
        "id": turn.id,
        "model": turn.model,
        "system_fingerprint": FINGERPRINT,
        "object": "chat.completion.chunk",
    }
