"""Request fields forwarded to the model server, as each kind of server expects them."""

from __future__ import annotations

from typing import Any

from agent.errors import AgentError
from agent.settings import ToolCallMode, UpstreamKind

# OpenAI fields every OpenAI-compatible server reads.
STANDARD_FIELDS = (
    "response_format",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
)
# Sampling and structured-output extras, by server: request name -> the server's name.
_VLLM = (
    "top_k",
    "min_p",
    "repetition_penalty",
    "chat_template_kwargs",
    "structured_outputs",
    "guided_json",
    "guided_regex",
    "guided_choice",
    "guided_grammar",
    "min_tokens",
)
SERVER_EXTRAS: dict[UpstreamKind, dict[str, str]] = {
    UpstreamKind.VLLM: {name: name for name in _VLLM},
    UpstreamKind.LLAMACPP: {
        "top_k": "top_k",
        "min_p": "min_p",
        "repetition_penalty": "repeat_penalty",
        "chat_template_kwargs": "chat_template_kwargs",
    },
    UpstreamKind.OLLAMA: {},
    UpstreamKind.OPENAI: {},
}
EXTRA_FIELDS = frozenset(name for names in SERVER_EXTRAS.values() for name in names)


def not_honoured(field: str, why: str) -> AgentError:
    """The 400 for a request field this service cannot honour."""
    return AgentError(
        f"The request field `{field}` cannot be honoured: {why}.",
        param=field,
        code="unsupported_field",
    )


def for_server(fields: dict[str, Any], server: UpstreamKind, mode: ToolCallMode) -> dict[str, Any]:
    """`fields` renamed for `server`; a field it cannot take is the 400 naming it."""
    if fields and mode is ToolCallMode.HARMONY:
        first = sorted(fields)[0]
        raise not_honoured(first, "the harmony tool-call mode sends raw completions without it")
    names = SERVER_EXTRAS[server]
    sent: dict[str, Any] = {}
    for name, value in fields.items():
        if name in STANDARD_FIELDS:
            sent[name] = value
        elif name in names:
            sent[names[name]] = value
        else:
            raise not_honoured(name, f"the {server.value} model server does not support it")
    return sent
