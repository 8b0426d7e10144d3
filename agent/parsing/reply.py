"""A model reply's text fields parsed as they arrive, keeping exactly what was handed out.

A chat server sends two text fields, `content` and a reasoning field; both may hold markup
(harmony in content, a `<tool_call>` in reasoning...). Each field has its own stream
parser; the reply is the sum of the deltas this object returned, so what a client was
streamed, what a non-streamed response says and what the session stores are one text.

It also marks each call it found in the text `recovered` unless it stands in one of the
`call_positions` of the mode's dialect, in content: a call written in the reasoning, or in
markup the mode does not call with, is what the model quoted or garbled, never a command
(docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace

from agent.parsing.auto import AutoStream
from agent.parsing.types import (
    BARE_JSON,
    CallCandidate,
    CallDelta,
    Delta,
    Parsed,
    StreamParser,
    get_dialect,
)

_SEPARATOR = {"content": "\n", "reasoning": "\n"}  # between the two fields' text


class PassThrough:
    """Text taken as sent (native mode trusts the server's fields)."""

    def __init__(self, target: str) -> None:
        self._target = target

    def feed(self, text: str) -> Delta:
        return Delta(text, "") if self._target == "content" else Delta("", text)

    def close(self) -> Delta:
        return Delta()


@dataclass
class _Kept:
    """What was handed out so far."""

    text: dict[str, list[str]] = field(default_factory=lambda: {"content": [], "reasoning": []})
    last_source: dict[str, str] = field(default_factory=dict)
    calls: dict[tuple[str, int], CallCandidate] = field(default_factory=dict)


class ReplyParser:
    """`dialect` parses content ("auto", a dialect name, or None to pass it through);
    `reasoning_dialect` likewise the reasoning field. With `reasoning_opened` (the chat
    template opened `<think>` in the prompt), auto content before a first `</think>` is
    reasoning, unless the reasoning field already brought some. `call_positions` are the
    markups (types.TOOL_MESSAGE, CALL_TAG, BARE_JSON) that, in content, are where the mode's
    dialect puts calls; every other call found in the text is recovered."""

    def __init__(
        self,
        tool_names: Sequence[str] = (),
        *,
        dialect: str | None = "auto",
        reasoning_dialect: str | None = "auto",
        tail_call: Callable[[str], str | None] | None = None,
        reasoning_opened: bool = False,
        json_calls: bool = True,
        call_positions: Collection[str] = (),
    ) -> None:
        self._names = tuple(tool_names)
        self._call_positions = frozenset(call_positions)
        self._json_calls = json_calls
        self._tail_call = tail_call
        self._reasoning_opened = reasoning_opened
        self._dialect = dialect
        self._parsers: dict[str, StreamParser] = {}
        if reasoning_dialect is None:
            self._parsers["reasoning"] = PassThrough("reasoning")
        else:
            self._parsers["reasoning"] = get_dialect(reasoning_dialect).stream(
                self._names, text_target="reasoning"
            )
        self._kept = _Kept()

    def content(self, text: str) -> Delta:
        return self._keep("content", self._parser("content").feed(text)) if text else Delta()

    def reasoning(self, text: str) -> Delta:
        return self._keep("reasoning", self._parsers["reasoning"].feed(text)) if text else Delta()

    def close(self) -> Delta:
        """End of the reply: everything still held back."""
        self._parser("content")
        deltas = [self._keep(source, p.close()) for source, p in list(self._parsers.items())]
        deltas.append(self._keep("reasoning", self._reasoning_tail()))
        return Delta(
            "".join(d.content for d in deltas),
            "".join(d.reasoning for d in deltas),
            [c for d in deltas for c in d.calls],
        )

    def _reasoning_tail(self) -> Delta:
        """A JSON object ending the reasoning of a reply with no content and no call is the
        call when exactly one offered tool's schema fits it (`tail_call` says which); vLLM
        streams calls on the analysis channel that way. Otherwise it is reasoning after all."""
        parser = self._parsers["reasoning"]
        tail = getattr(parser, "tail_json", "")
        if not tail:
            return Delta()
        empty = not self._kept.text["content"] and not self._kept.calls
        name = self._tail_call(tail) if empty and self._tail_call else None
        if name:
            return Delta(calls=[CallDelta(0, name, tail, position=BARE_JSON)])
        return parser.release_tail()

    def result(self) -> Parsed:
        """The reply: the text handed out, and the calls in the order they were written."""
        content = "".join(self._kept.text["content"])
        reasoning = "".join(self._kept.text["reasoning"])
        return Parsed(content or None, reasoning or None, list(self._kept.calls.values()))

    def _parser(self, source: str) -> StreamParser:
        """The content parser, made at the first content (see `reasoning_opened`)."""
        if source not in self._parsers:
            if self._dialect is None:
                self._parsers[source] = PassThrough("content")
            elif self._dialect == "auto":
                reasoning_first = self._reasoning_opened and not self._kept.text["reasoning"]
                self._parsers[source] = AutoStream(
                    self._names, reasoning_first=reasoning_first, json_calls=self._json_calls
                )
            else:
                self._parsers[source] = get_dialect(self._dialect).stream(self._names)
        return self._parsers[source]

    def _keep(self, source: str, delta: Delta) -> Delta:
        """Record a parser's delta (a separator first when the other field wrote last)."""
        out = Delta(self._text(source, "content", delta.content))
        out.reasoning = self._text(source, "reasoning", delta.reasoning)
        for call in delta.calls:
            key = (source, call.index)
            known = self._kept.calls.get(key) or self._new_call(source, call)
            arguments = known.arguments + (call.arguments or "")
            self._kept.calls[key] = replace(known, arguments=arguments, complete=call.complete)
            index = list(self._kept.calls).index(key)
            out.calls.append(CallDelta(index, call.name, call.arguments, call.complete))
        return out

    def _new_call(self, source: str, first: CallDelta) -> CallCandidate:
        position = first.position or BARE_JSON
        in_place = source == "content" and position in self._call_positions
        return CallCandidate(first.name or "", "", position=position, recovered=not in_place)

    def _text(self, source: str, target: str, text: str) -> str:
        if not text:
            return ""
        kept, last = self._kept.text[target], self._kept.last_source.get(target)
        if kept and last != source:
            text = _SEPARATOR[target] + text
        self._kept.last_source[target] = source
        kept.append(text)
        return text
