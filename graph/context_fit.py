"""Which part of a session's history one model call is sent.

All of it while it fits the budget; else the newest whole turns (a turn starts at a user
message, so a tool call always travels with its result), the current turn always. With
CONTEXT_STRATEGY=summarize the turns left out are replaced by a summary (graph/summary.py).
The stored history is never shortened: only what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate, compress, count
from operator import itemgetter

from langchain_core.messages import BaseMessage, HumanMessage

from agent.llm.context_window import message_tokens, too_long
from agent.prefix_memo import PrefixMemo


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
