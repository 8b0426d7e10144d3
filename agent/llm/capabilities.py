"""What a model server's answers say it cannot do (native tool calling), and where `auto`
goes then. Each backend remembers what it learned (agent/llm/backend.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.llm.failures import UpstreamStatus
from agent.settings import ToolCallMode, UpstreamKind
from agent.toolcalls.types import ToolCall

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


def first_line(exc: Exception) -> str:
    text = getattr(exc, "detail", None) or str(exc)
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
