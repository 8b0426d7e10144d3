"""/v1/completions (raw text) wire formats: vLLM (also `raw`), Ollama and llama.cpp."""

from __future__ import annotations

from typing import Any

from tests.upstream_sim import chat_llamacpp, chat_ollama, chat_vllm
from tests.upstream_sim.turn import Turn


def full(turn: Turn) -> dict[str, Any]:
    if turn.flavor.name == "ollama":
        return _ollama(turn, turn.content or "", turn.finish_reason) | {
            "usage": chat_ollama.usage(turn)
        }
    if turn.flavor.name == "llamacpp":
        return _llamacpp(turn, turn.content or "", turn.finish_reason) | {
            "usage": chat_llamacpp.usage(turn),
            "id": turn.id,
            "timings": chat_llamacpp.timings(turn),
        }
    choice = _vllm_choice(turn.content or "", turn.finish_reason, turn.stop_reason)
    choice["prompt_logprobs"] = None
    body = {
        **_vllm_envelope(turn),
        "choices": [choice],
        "usage": {**chat_vllm.usage(turn), "prompt_tokens_details": None},
        "kv_transfer_params": None,
    }
    if turn.flavor.current_vllm:
        choice.update(token_ids=None, prompt_token_ids=None, routed_experts=None)
        body["usage"]["completion_tokens_details"] = None
        body.update(service_tier=None, system_fingerprint=chat_vllm.FINGERPRINT)
        body.update(ec_transfer_params=None, metrics=None)
    return body


def chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    if turn.flavor.name == "ollama":
        return _ollama_chunks(turn, include_usage)
    if turn.flavor.name == "llamacpp":
        return _llamacpp_chunks(turn, include_usage)
    if turn.flavor.current_vllm:
        return _vllm_chunks(turn, include_usage)
    # vLLM 0.10 dumps completion chunks with exclude_unset=False, hence `"usage": null`.
    out = [
        {**_vllm_envelope(turn), "choices": [_vllm_choice(piece, None, None)], "usage": None}
        for piece in turn.content_pieces
    ]
    last = _vllm_choice("", turn.finish_reason, turn.stop_reason)
    out.append({**_vllm_envelope(turn), "choices": [last], "usage": None})
    if include_usage:
        out.append({**_vllm_envelope(turn), "choices": [], "usage": chat_vllm.usage(turn)})
    return out


def _vllm_chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    """vLLM 0.32: no `usage` key on text chunks; the last text chunk carries the finish."""
    pieces = turn.content_pieces or [""]
    out = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        choice = _vllm_choice(
            piece, turn.finish_reason if last else None, turn.stop_reason if last else None
        )
        choice.update(prompt_token_ids=None, token_ids=None)
        out.append({**_vllm_envelope(turn), "choices": [choice]})
    if include_usage:
        usage = {**_vllm_envelope(turn), "choices": [], "usage": chat_vllm.usage(turn)}
        out.append(usage | {"system_fingerprint": chat_vllm.FINGERPRINT})
    return out


def _vllm_choice(text: str, finish_reason: str | None, stop_reason: Any) -> dict[str, Any]:
    return {
        "index": 0,
        "text": text,
        "logprobs": None,
        "finish_reason": finish_reason,
        "stop_reason": stop_reason,
    }


def _vllm_envelope(turn: Turn) -> dict[str, Any]:
    return {
        "id": turn.id,
        "object": "text_completion",
        "created": turn.created,
        "model": turn.model,
    }


def _ollama_chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    pieces = [(piece, None) for piece in turn.content_pieces] + [("", turn.finish_reason)]
    out = [_ollama(turn, text, finish, streaming=True) for text, finish in pieces]
    if include_usage:
        # Ollama puts a zeroed usage on every chunk, then a real one on a choice-less chunk.
        zero = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        out = [chunk | {"usage": zero} for chunk in out]
        out.append(out[-1] | {"choices": [], "usage": chat_ollama.usage(turn)})
    return out


def _ollama(turn: Turn, text: str, finish: str | None, streaming: bool = False) -> dict:
    choice = {"text": text, "index": 0, "finish_reason": finish}
    head = {"id": turn.id, "object": "text_completion", "created": turn.created}
    model = {"model": turn.model, "system_fingerprint": chat_ollama.FINGERPRINT}
    if streaming:
        return head | {"choices": [choice]} | model
    return head | model | {"choices": [choice]}


def _llamacpp_chunks(turn: Turn, include_usage: bool) -> list[dict[str, Any]]:
    pieces = [(piece, None) for piece in turn.content_pieces] + [("", turn.finish_reason)]
    out = [_llamacpp(turn, text, finish) | {"id": turn.id} for text, finish in pieces]
    if include_usage:
        out[-1] |= {"usage": chat_llamacpp.usage(turn), "timings": chat_llamacpp.timings(turn)}
    return out


def _llamacpp(turn: Turn, text: str, finish: str | None) -> dict[str, Any]:
    choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
    return {
        "choices": [choice],
        "created": turn.created,
        "model": turn.model,
        "system_fingerprint": chat_llamacpp.FINGERPRINT,
        "object": "text_completion",
    }
