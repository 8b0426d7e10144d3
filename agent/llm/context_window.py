"""The token budget of one model call, and the token counts it is made of.

A message's text is counted in gpt-oss's vocabulary (agent/o200k.py), plus a per-message
overhead for the chat template's role and separator tokens. A text over `COUNTED_CHARS`
is estimated instead, at one token per 3 UTF-8 bytes: o200k averages about 4 characters
per token on English prose and code and about one per character on CJK text, so the
estimate over-counts, and counting 10 MB would hold the event loop for about half a second.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import orjson
from langchain_core.messages import AIMessage, BaseMessage

from agent import o200k
from agent.errors import AgentError
from agent.messages import content_text, reasoning_of

BYTES_PER_TOKEN = 3
COUNTED_CHARS = 1_000_000
MESSAGE_OVERHEAD = 8
"""Tokens of a message's framing (<|start|>role<|channel|>...<|message|> ... <|end|>)."""
DEFAULT_CONTEXT_WINDOW = 131072
"""gpt-oss's context length, used when CONTEXT_WINDOW is unset and the server reports none."""


def text_tokens(text: str) -> int:
    """Tokens of a text."""
    if len(text) > COUNTED_CHARS:
        return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)
    if len(text) > KEPT_CHARS:
        return o200k.count(text)
    return _kept_count(text)


KEPT_CHARS = 100_000
"""Counts of texts up to this long are kept (the newest `COUNTS_KEPT`): the offered tools'
schemas are the same text on every call, and counting 5 KB takes about 0.4 ms."""
COUNTS_KEPT = 256
_kept_count = functools.lru_cache(maxsize=COUNTS_KEPT)(o200k.count)


def text_within(text: str, tokens: int) -> str:
    """The start of `text` that takes at most `tokens` tokens (all of it if it fits)."""
    if len(text) > COUNTED_CHARS:
        data = text.encode("utf-8")
        return data[: tokens * BYTES_PER_TOKEN].decode("utf-8", errors="ignore")
    ids = o200k.encoding().encode_ordinary(text)
    if len(ids) <= tokens:
        return text
    return o200k.encoding().decode_bytes(ids[:tokens]).decode("utf-8", errors="ignore")


def message_tokens(message: BaseMessage) -> int:
    """Tokens of one message as sent upstream: content, reasoning, tool calls, framing."""
    parts = [content_text(message.content), reasoning_of(message) or ""]
    if isinstance(message, AIMessage):
        parts += [json.dumps(call.get("args", {})) + call["name"] for call in message.tool_calls]
    return MESSAGE_OVERHEAD + sum(text_tokens(part) for part in parts)


def tools_tokens(tools: list[dict[str, Any]]) -> int:
    """Tokens of the offered tools' schemas (as JSON; the template's rendering is shorter)."""
    return text_tokens(orjson.dumps(tools).decode()) if tools else 0


def too_long(what: str, tokens: int, budget: int) -> AgentError:
    """The 400 for something that cannot fit the context window on its own."""
    return AgentError(
        f"{what} is about {tokens} tokens, more than the {budget} tokens a model call has"
        " for messages (CONTEXT_WINDOW minus max_tokens and the tools' schemas). Shorten it,"
        " lower max_tokens or offer fewer tools.",
        param="messages",
        code="context_length_exceeded",
    )
