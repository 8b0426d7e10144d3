"""One model server and what this process knows about it: its load and health, and what
it turned out able to do (native tool calling, its context length), learned once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from agent.llm.backend_config import BackendSpec
from agent.llm.capabilities import HOW_TO_ENABLE, fallback_mode
from agent.llm.failures import UPSTREAM_FAILURES
from agent.llm.http import ModelServer, get_json
from agent.settings import ToolCallMode, mask_url_password

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
