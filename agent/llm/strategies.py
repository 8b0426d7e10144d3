"""The ways of getting one reply with tool calls out of the upstream (TOOL_CALL_MODE).

* auto: send `tools`, take the server's `tool_calls`, clean them, and recover calls or
  markup left in `content` / reasoning with the auto parser.
* native: the same, but the server's text is passed on as sent.
* harmony: render the harmony prompt ourselves, call `/v1/completions` with special
  tokens kept, parse the raw text.
* prompt: describe the tools in the system prompt (Hermes format), parse the reply.

`strategy_for` is the one place that maps a mode to its strategy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agent.llm.call import ModelCall, OnDelta
from agent.llm.chat_strategies import auto_reply, native_reply, prompt_reply
from agent.llm.harmony_strategy import harmony_reply
from agent.llm.http import ModelServer
from agent.llm.reply import ModelReply
from agent.settings import ToolCallMode

Strategy = Callable[[ModelServer, ModelCall, OnDelta], Awaitable[ModelReply]]
"""(server, call, on_delta) -> the reply, its deltas passed to on_delta."""

_STRATEGIES: dict[ToolCallMode, Strategy] = {
    ToolCallMode.AUTO: auto_reply,
    ToolCallMode.NATIVE: native_reply,
    ToolCallMode.HARMONY: harmony_reply,
    ToolCallMode.PROMPT: prompt_reply,
}


def strategy_for(mode: ToolCallMode) -> Strategy:
    """The strategy that obtains a reply in `mode`."""
    return _STRATEGIES[mode]
