"""Fit a model call into the context window: CONTEXT_WINDOW (or the server's) minus the
reply's max_tokens, the tools' schemas and the instructions is what the history may take.

Of a session's history a call is sent all of it while it fits that budget; else the newest
whole turns (a turn starts at a user message, so a tool call always travels with its
result), the current turn always. With CONTEXT_STRATEGY=summarize the turns left out are
replaced by a summary (graph/summary.py). The stored history is never shortened: only what
is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import accumulate, compress, count
from operator import itemgetter
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.errors import AgentError
from agent.llm.context_window import DEFAULT_CONTEXT_WINDOW, message_tokens, too_long, tools_tokens
from agent.llm.step import step_reply
from agent.llm.step_io import ModelCall
from agent.metrics import CONTEXT_TRIMS
from agent.prefix_memo import PrefixMemo
from agent.settings import ContextStrategy
from agent.tracing import annotate, traced
from graph.context import Context
from graph.deps import AgentDeps
from graph.state import State
from graph.summary import Ask, refreshed, summary_reserve, with_summary


@traced("oss_agent.context_fit")
async def fit_call(
    call: ModelCall, state: State, context: Context, deps: AgentDeps
) -> tuple[ModelCall, dict[str, Any]]:
    """The call with as much history as fits, and the state update saying what was left out
    (`trimmed`: stored messages not sent; `summary` when a new one was made)."""
    instructions, history = call.messages[0], call.messages[1:]
    window = await context_window(deps, call.params.get("model"))
    # A default reserve takes at most a quarter of a small window; a client's max_tokens
    # counts whole.
    reply = context.max_tokens or min(deps.settings.context_reply_tokens, window // 4)
    fixed = tools_tokens(call.tools) + message_tokens(instructions)
    room = window - reply - fixed
    if room <= 0:
        raise too_long("The instructions and the tools' schemas", fixed, window - reply)
    costs = Costs.of(history)
    strategy = deps.settings.context_strategy
    update: dict[str, Any] = {}
    stored = state.get("summary") or {}
    covers = stored.get("covers", 0) if stored.get("covers", 0) < len(history) else 0
    if strategy == ContextStrategy.DROP or (not covers and costs.tail(0) <= room):
        start = first_kept(costs, room)
    else:
        reserve = summary_reserve(room)
        start = first_kept(costs, room - reserve, floor=covers)
        text = stored.get("text", "")
        if start > covers:
            start = _refresh_point(costs, room - reserve, start)
            ask = _asker(deps, call)
            text = await refreshed(text, history[covers:start], reserve, room, ask)
            update["summary"] = {"text": text, "covers": start}
            annotate(oss_agent__context__summarised=start - covers)
        instructions = SystemMessage(content=with_summary(str(instructions.content), text))
    trims = CONTEXT_TRIMS.labels(strategy.value)  # exported (at 0) before the first trim
    if start:
        trims.inc()
    annotate(oss_agent__context__strategy=strategy.value, oss_agent__context__left_out=start)
    update["trimmed"] = max(state.get("trimmed", 0), start)
    return replace(call, messages=[instructions, *history[start:]]), update


def _refresh_point(costs: Costs, room: int, needed: int) -> int:
    """Where a refreshed summary ends: leave out turns until the rest takes half the room,
    so the next turns reuse the summary instead of making one each."""
    try:
        return max(first_kept(costs, room // 2), needed)
    except AgentError:
        return needed


async def context_window(deps: AgentDeps, model: str | None) -> int:
    """CONTEXT_WINDOW when set, else the smallest window the backends serving `model`
    report (DEFAULT_CONTEXT_WINDOW for one that reports none)."""
    if deps.settings.context_window is not None:
        return deps.settings.context_window
    serving = [
        b for b in deps.backends.backends.values() if model is None or model in b.spec.models
    ]
    windows = [await b.reported_window() or DEFAULT_CONTEXT_WINDOW for b in serving]
    return min(windows, default=DEFAULT_CONTEXT_WINDOW)


def _asker(deps: AgentDeps, call: ModelCall) -> Ask:
    """A tool-less, unstreamed model call on the same model, for summaries."""
    model = {"model": call.params["model"]} if "model" in call.params else {}

    async def ask(messages: list[BaseMessage], max_tokens: int) -> str:
        summary_call = ModelCall(
            messages=messages, params={**model, "max_tokens": max_tokens}, mode=call.mode
        )
        reply = await step_reply(deps.backends, summary_call)
        return reply.content

    return ask


def _cost(message: BaseMessage) -> tuple[int, bool]:
    return message_tokens(message), isinstance(message, HumanMessage)


COSTS_KEPT = 100_000
"""Messages whose cost is kept (agent/prefix_memo.py)."""
_per_message: PrefixMemo[BaseMessage, tuple[int, bool]] = PrefixMemo(_cost, COSTS_KEPT)
_TOKENS = itemgetter(0)
_STARTS_TURN = itemgetter(1)


@dataclass
class Costs:
    """Estimated tokens of each stored message, and where each turn starts."""

    tokens: list[int]
    starts: list[int]

    @classmethod
    def of(cls, messages: list[BaseMessage]) -> Costs:
        kept = _per_message.values(messages)
        starts = list(compress(count(), map(_STARTS_TURN, kept)))
        if not starts or starts[0] != 0:
            starts.insert(0, 0)  # whatever comes before the first user message is one unit
        return cls(list(map(_TOKENS, kept)), starts)

    def tail(self, start: int) -> int:
        """Tokens of the messages from `start` on."""
        return sum(self.tokens[start:])


def first_kept(costs: Costs, room: int, floor: int = 0) -> int:
    """The earliest turn start at or after `floor` whose messages from there on fit `room`
    tokens; the 400 when not even the current turn fits."""
    suffix = [*reversed(list(accumulate(reversed(costs.tokens)))), 0]
    for start in costs.starts:
        if start >= floor and suffix[start] <= room:
            return start
    raise _current_turn_too_long(costs, room)


def _current_turn_too_long(costs: Costs, room: int) -> Exception:
    current = costs.starts[-1]
    biggest = max(costs.tokens[current:], default=0)
    if biggest > room:
        return too_long("A single message of this turn", biggest, room)
    return too_long("This turn (its messages and tool results)", costs.tail(current), room)
