"""What the upstream server turned out to be able to do, learned once per backend.

Process-wide, keyed by base URL: each backend (LLM_BASE_URL, LLM_BACKENDS, or one added with
POST /v1/backends) learns its own limits and never inherits another's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.llm.failures import UPSTREAM_FAILURES, UpstreamStatus
from agent.llm.http import ModelServer, get_json
from agent.settings import ToolCallMode, UpstreamKind
from agent.toolcalls.types import ToolCall

log = logging.getLogger(__name__)

# vLLM (before it enabled tools for gpt-oss unconditionally) answers a request carrying tools
# with 400 '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to
# be set'; other OpenAI-compatible servers say they do not support tools.
_REFUSES_TOOLS = re.compile(
    r"--enable-auto-tool-choice|--tool-call-parser|tools? (are|is) not supported"
    r"|does(n't| not) support tools|tool calling is not (supported|enabled)",
    re.IGNORECASE,
)

HOW_TO_ENABLE = {
    UpstreamKind.VLLM: "start vLLM with --tool-call-parser openai --enable-auto-tool-choice "
    "(and --reasoning-parser openai_gptoss)",
    UpstreamKind.OLLAMA: "use an Ollama model whose template supports tools",
    UpstreamKind.LLAMACPP: "start llama-server with --jinja",
    UpstreamKind.OPENAI: "enable tool calling on the server",
}


@dataclass
class Backend:
    """What is known about one upstream."""

    native_tools: bool = True
    context_length: int | None = None
    context_length_asked: bool = False


_backends: dict[str, Backend] = {}


def backend(base_url: str) -> Backend:
    return _backends.setdefault(base_url.rstrip("/"), Backend())


def refuses_tools(exc: Exception) -> bool:
    """Is this the server's 400 for a request that carries `tools` it cannot handle?"""
    if not isinstance(exc, UpstreamStatus) or exc.status != 400:
        return False
    return bool(_REFUSES_TOOLS.search(f"{exc.detail} {exc.body}"))


# gpt-oss's <|call|>: a reply that stopped on it but carries no tool call lost its call in a
# server without a tool-call parser (vLLM 0.32 started without --tool-call-parser does this).
HARMONY_CALL = (200012, "<|call|>")


def swallowed_call(stop_reason: int | str | None, calls: Sequence[object]) -> bool:
    """Did the server end the reply on <|call|> and send no tool call for it? A call the
    parser recovered from the text was not sent: vLLM's parser leaves a call addressed to
    gpt-oss's own tools (`to=browser.search`) in `reasoning`, where it may only be read."""
    sent = [call for call in calls if not (isinstance(call, ToolCall) and call.recovered)]
    return stop_reason in HARMONY_CALL and not sent


def fallback_mode(kind: UpstreamKind) -> ToolCallMode:
    """Where `auto` goes when native calling is refused: raw harmony through
    /v1/completions on vLLM (gpt-oss), the prompt strategy elsewhere."""
    return ToolCallMode.HARMONY if kind is UpstreamKind.VLLM else ToolCallMode.PROMPT


def forget_native_tools(base_url: str, kind: UpstreamKind, why: str) -> ToolCallMode:
    """Remember that this backend refuses tools; say once what would make it work."""
    known = backend(base_url)
    mode = fallback_mode(kind)
    if known.native_tools:
        known.native_tools = False
        log.warning(
            "Native tool calling failed at the model server %s (%s); tool calls now use "
            "the %s strategy for it. For native calling, %s.",
            base_url, why, mode.value, HOW_TO_ENABLE[kind],
        )  # fmt: skip
    return mode


async def context_length(server: ModelServer) -> int | None:
    """The server's context length for its model, if it reports one (vLLM's /v1/models
    gives `max_model_len`); asked once per backend."""
    known = backend(server.base_url)
    if not known.context_length_asked:
        known.context_length_asked = True
        known.context_length = await _ask_context_length(server)
    return known.context_length


async def _ask_context_length(server: ModelServer) -> int | None:
    try:
        models = (await get_json(server, "/models")).get("data") or []
    except (*UPSTREAM_FAILURES, AttributeError):
        return None
    for entry in models:
        if isinstance(entry, dict) and entry.get("id") == server.model:
            length = entry.get("max_model_len")
            return length if isinstance(length, int) and length > 0 else None
    return None


def first_line(exc: Exception) -> str:
    text = getattr(exc, "detail", None) or str(exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
