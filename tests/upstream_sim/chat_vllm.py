"""vLLM's chat-completions wire format for gpt-oss (also used by the parser-less `raw` flavor).

Modelled on vLLM's `serving_chat.py` / `stream_harmony.py` with `--tool-call-parser openai
--reasoning-parser openai_gptoss`: non-streaming bodies are full pydantic dumps (every field,
nulls included); chunks are `model_dump_json(exclude_unset=True)`. The default shapes are
vLLM 0.32's, checked against the real engine (tests/engine/test_sim_matches_engine.py);
`vllm_version="0.10"` gives the older ones.
"""

from __future__ import annotations

import json
from typing import Any

from tests.upstream_sim.harmony import arguments_text
from tests.upstream_sim.turn import ToolCall, Turn

FINGERPRINT = "vllm-0.32.0-7bcf644d"


def full(turn: Turn) -> dict[str, Any]:
    current = turn.flavor.current_vllm
    message: dict[str, Any] = {
        "role": "assistant",
        "content": turn.content,
        "refusal": None,
        "annotations": None,
        "audio": None,
        "function_call": None,
    }
    if turn.tool_calls or not current:  # 0.32 leaves an empty list out
        message["tool_calls"] = [_tool_call(call) for call in turn.tool_calls]
    message.update(_reasoning(turn, turn.reasoning))
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": turn.finish_reason,
        "stop_reason": turn.stop_reason,
        "token_ids": None,
    }
    body = {
        **_envelope(turn, "chat.completion"),
        "choices": [choice],
        "service_tier": None,
        "system_fingerprint": FINGERPRINT if current else None,
        "usage": {**usage(turn), "prompt_tokens_details": None},
        "prompt_logprobs": None,
        "prompt_token_ids": None,
        "kv_transfer_params": None,
    }
    if current:
        choice["routed_experts"] = None
        body["usage"]["completion_tokens_details"] = _details(turn)
        body.update(prompt_text=None, ec_transfer_params=None, metrics=None)
    return body


def chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    current = turn.flavor.current_vllm
    first = _chunk(turn, {"role": "assistant", "content": ""})
    del first["choices"][0]["token_ids"]
    first["prompt_token_ids"] = None
    if current:
        first["prompt_text"] = None
    out = [first]
    out += [_chunk(turn, _reasoning(turn, piece)) for piece in turn.reasoning_pieces]
    out += [_chunk(turn, {"content": piece}) for piece in turn.content_pieces]
    for index, call in enumerate(turn.tool_calls):
        out += _tool_call_chunks(turn, index, call)
    out.append(_final_chunk(turn))
    if include_usage:
        last = {**_envelope(turn, "chat.completion.chunk"), "choices": [], "usage": usage(turn)}
        if current:
            last["usage"]["completion_tokens_details"] = _details(turn)
            last["system_fingerprint"] = FINGERPRINT
        out.append(last)
    return out


def _details(turn: Turn) -> dict[str, int]:
    return {"reasoning_tokens": max(1, len(turn.reasoning or "") // 4) if turn.reasoning else 0}


def usage(turn: Turn) -> dict[str, int]:
    u = turn.usage
    return {
        "prompt_tokens": u["prompt_tokens"],
        "total_tokens": u["total_tokens"],
        "completion_tokens": u["completion_tokens"],
    }


def _tool_call(call: ToolCall) -> dict[str, Any]:
    # The non-streaming parser normalises valid JSON with json.dumps(json.loads(...)).
    args = call.arguments
    text = json.dumps(args) if isinstance(args, dict) else args
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": text}}


def _tool_call_chunks(turn: Turn, index: int, call: ToolCall) -> list[dict[str, Any]]:
    opening = {
        "id": call.id,
        "type": "function",
        "index": index,
        "function": {"name": call.name, "arguments": ""},
    }
    out = [_chunk(turn, {"tool_calls": [opening]})]
    for piece in turn.pieces(arguments_text(call.arguments)):
        fragment = {"index": index, "function": {"arguments": piece}}
        out.append(_chunk(turn, {"tool_calls": [fragment]}))
    return out


def _final_chunk(turn: Turn) -> dict[str, Any]:
    # 0.10: the stop token after final-channel text yields an empty content delta; else {}.
    delta: dict[str, Any] = {} if turn.tool_calls or turn.flavor.current_vllm else {"content": ""}
    chunk = _chunk(turn, delta)
    chunk["choices"][0].update(finish_reason=turn.finish_reason, stop_reason=turn.stop_reason)
    chunk["choices"][0]["token_ids"] = chunk["choices"][0].pop("token_ids")
    return chunk


def _reasoning(turn: Turn, text: str | None) -> dict[str, Any]:
    field = turn.flavor.reasoning_key()
    if turn.flavor.name == "raw":
        field = "reasoning"
    if field == "both":
        return {"reasoning": text, "reasoning_content": text}
    return {field: text}


def _chunk(turn: Turn, delta: dict[str, Any]) -> dict[str, Any]:
    choice = {
        "index": 0,
        "delta": delta,
        "logprobs": None,
        "finish_reason": None,
        "token_ids": None,
    }
    return {**_envelope(turn, "chat.completion.chunk"), "choices": [choice]}


def _envelope(turn: Turn, kind: str) -> dict[str, Any]:
    return {"id": turn.id, "object": kind, "created": turn.created, "model": turn.model}
