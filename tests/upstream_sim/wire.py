"""Byte-level details shared by the flavors: JSON encoding, SSE framing, ids, errors."""

from __future__ import annotations

import json
import random
import re
import secrets
import string
from typing import Any

from tests.upstream_sim.steps import FlavorName

DONE_EVENT = "data: [DONE]\n\n"
SPECIAL_TOKEN = re.compile(r"<\|[a-z_]+\|>")

JSON_TYPES: dict[str, str] = {
    "vllm": "application/json",
    "raw": "application/json",
    "ollama": "application/json; charset=utf-8",
    "llamacpp": "application/json; charset=utf-8",
}
SSE_TYPES: dict[str, str] = {
    "vllm": "text/event-stream; charset=utf-8",
    "raw": "text/event-stream; charset=utf-8",
    "ollama": "text/event-stream",
    "llamacpp": "text/event-stream",
}
# Go's encoding/json escapes these by default (HTML-safe output); Ollama is a Go server.
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def dumps(obj: Any, flavor: FlavorName) -> str:
    """Compact JSON as the flavor's server writes it."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if flavor == "ollama":
        for char, escaped in _GO_ESCAPES.items():
            text = text.replace(char, escaped)
    return text


def json_body(obj: Any, flavor: FlavorName) -> bytes:
    # Go's json.Encoder terminates each value with a newline.
    suffix = "\n" if flavor == "ollama" else ""
    return (dumps(obj, flavor) + suffix).encode()


def sse_event(obj: Any, flavor: FlavorName) -> str:
    return f"data: {dumps(obj, flavor)}\n\n"


def split_text(text: str, size: int) -> list[str]:
    """Pieces of at most `size` characters; harmony special tokens are never split."""
    pieces: list[str] = []
    position = 0
    for match in SPECIAL_TOKEN.finditer(text):
        pieces += _fixed(text[position : match.start()], size)
        pieces.append(match.group())
        position = match.end()
    pieces += _fixed(text[position:], size)
    return pieces


def _fixed(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def strip_special(text: str) -> str:
    return SPECIAL_TOKEN.sub("", text)


def chat_id(flavor: FlavorName) -> str:
    if flavor == "ollama":
        return f"chatcmpl-{random.randrange(999)}"
    if flavor == "llamacpp":
        return f"chatcmpl-{_alnum(32)}"
    return f"chatcmpl-{secrets.token_hex(8)}"


def completion_id(flavor: FlavorName) -> str:
    if flavor == "ollama":
        return f"cmpl-{random.randrange(999)}"
    if flavor == "llamacpp":
        return f"chatcmpl-{_alnum(32)}"
    return f"cmpl-{secrets.token_hex(16)}"


def tool_call_id(flavor: FlavorName) -> str:
    if flavor == "ollama":
        return "call_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
    if flavor == "llamacpp":
        return _alnum(32)
    return f"chatcmpl-tool-{secrets.token_hex(16)}"


def _alnum(length: int) -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=length))


_VLLM_ERROR_TYPES = {400: "BadRequestError", 404: "NotFoundError", 500: "InternalServerError"}
_OLLAMA_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}
_LLAMACPP_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def error_body(flavor: FlavorName, status: int, message: str, param: str | None = None) -> dict:
    """The error object each server returns (an OpenAI-shaped `{"error": {...}}`)."""
    if flavor == "ollama":
        kind = _OLLAMA_ERROR_TYPES.get(status, "api_error")
        return {"error": {"message": message, "type": kind, "param": param, "code": None}}
    if flavor == "llamacpp":
        kind = _LLAMACPP_ERROR_TYPES.get(status, "server_error")
        return {"error": {"code": status, "message": message, "type": kind}}
    kind = _VLLM_ERROR_TYPES.get(status, "InternalServerError" if status >= 500 else "Error")
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


def usage(prompt_tokens: int, completion_tokens: int, override: dict[str, int] | None) -> dict:
    merged = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    merged.update(override or {})
    merged.setdefault("total_tokens", merged["prompt_tokens"] + merged["completion_tokens"])
    return merged


def estimate_tokens(value: Any) -> int:
    """A deterministic stand-in for a tokenizer: about four characters a token."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return max(1, len(text) // 4)
