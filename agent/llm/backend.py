"""One model server and what this process knows about it: its load and health, and what
it turned out able to do (native tool calling, its context length), learned once.

What a server's answers say it cannot do (it refuses `tools`, or ends a reply on `<|call|>`
without a call) is read here too, with where `auto` goes then (`fallback_mode`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.llm.backend_config import BackendSpec
from agent.llm.failures import UPSTREAM_FAILURES, UpstreamStatus
from agent.llm.http import ModelServer, get_json
from agent.settings import ToolCallMode, UpstreamKind, mask_url_password
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


logger = logging.getLogger(__name__)


@dataclass
class Backend:
    """A model server and what this process knows about it right now."""

    spec: BackendSpec
    server: ModelServer  # retries LLM_MAX_RETRIES times: used when it is the model's only one
    healthy: bool = True
    in_flight: int = 0
    failures: int = 0
    last_error: str | None = None
    latency: float | None = None
    last_used: float = 0.0
    native_tools: bool = True
    """False once the server refused tools (or swallowed a call): `auto` falls back."""
    _cards: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def load(self) -> float:
        """In-flight calls per unit of weight: the lowest gets the next turn."""
        return self.in_flight / self.spec.weight

    def describe(self) -> dict[str, Any]:
        """What GET /v1/backends shows (never the key)."""
        spec = self.spec
        return {
            "name": spec.name,
            "base_url": mask_url_password(spec.base_url),
            "server": spec.server.value,
            "models": spec.models,
            "mode": spec.mode.value if spec.mode else None,
            "weight": spec.weight,
            "healthy": self.healthy,
            "in_flight": self.in_flight,
            "failures": self.failures,
            "last_error": self.last_error,
            "latency_seconds": None if self.latency is None else round(self.latency, 4),
        }

    def forget_native_tools(self, why: str) -> ToolCallMode:
        """Remember that this backend refuses tools; say once what would make it work."""
        kind = self.server.kind
        mode = fallback_mode(kind)
        if self.native_tools:
            self.native_tools = False
            logger.warning(
                "Native tool calling failed at the model server %s (%s); tool calls now use "
                "the %s strategy for it. For native calling, %s.",
                self.server.base_url, why, mode.value, HOW_TO_ENABLE[kind],
            )  # fmt: skip
        return mode

    async def context_length(self) -> int | None:
        """The server's context length for its model, if it reports one (vLLM's /v1/models
        gives `max_model_len`)."""
        for card in await self._model_cards():
            if card.get("id") == self.server.model:
                length = card.get("max_model_len")
                return length if isinstance(length, int) and length > 0 else None
        return None

    async def reported_window(self) -> int | None:
        """The smallest context length the server reports for any of its models."""
        lengths = [card.get("max_model_len") for card in await self._model_cards()]
        known = [n for n in lengths if isinstance(n, int) and n > 0]
        return min(known) if known else None

    async def _model_cards(self) -> list[dict[str, Any]]:
        """The entries of the server's GET /models, asked once (none when it cannot say)."""
        if self._cards is None:
            self._cards = await _read_cards(self.server)
        return self._cards


async def _read_cards(server: ModelServer) -> list[dict[str, Any]]:
    try:
        cards = (await get_json(server, "/models")).get("data")
    except (*UPSTREAM_FAILURES, AttributeError) as exc:
        # the model call itself will report an unreachable server
        logger.warning("could not read the context window from /v1/models: %s", exc)
        return []
    return [card for card in cards if isinstance(card, dict)] if isinstance(cards, list) else []
