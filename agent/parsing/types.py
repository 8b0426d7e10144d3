"""Result and delta types shared by every dialect, the two protocols a dialect offers, and
the registry of dialects by name (filled by the `register_dialect` class decorator)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

NATIVE = "native"
"""Where a model writes a call: the server's `tool_calls` field,"""
TOOL_MESSAGE = "tool_message"
"""a harmony message addressed to a tool (`to=functions.f`, with or without special tokens),"""
CALL_TAG = "call_tag"
"""`<tool_call>` or `<function=…>` markup,"""
BARE_JSON = "json"
"""or a bare (or fenced) JSON call envelope."""


@dataclass(frozen=True)
class CallCandidate:
    """A tool call as written by the model: name without markup, arguments before repair."""

    name: str
    arguments: str
    complete: bool = True
    """False for a call the end of the output cut off (no closing marker, arguments not
    complete JSON): it is never run nor returned."""
    # Where the call was found; not part of what the call is (equality ignores it).
    position: str = field(default=NATIVE, compare=False)
    """Which markup it was written in (NATIVE, TOOL_MESSAGE, CALL_TAG, BARE_JSON)."""
    recovered: bool = field(default=False, compare=False)
    """Found outside the call position of the mode's dialect (see `ReplyParser`): such a
    call is at most a client call, never a server tool run (docs/security.md)."""


@dataclass(frozen=True)
class Parsed:
    """Full parse of one model output. Empty text is reported as None."""

    content: str | None
    reasoning: str | None
    calls: list[CallCandidate] = field(default_factory=list)


@dataclass(frozen=True)
class CallDelta:
    """Part of a call: the name once known, then argument text.

    Concatenating every `arguments` piece of one index gives the call's arguments.
    """

    index: int
    name: str | None = None
    arguments: str | None = None
    complete: bool = True
    position: str | None = None
    """Set on a call's first delta: the markup it is written in (see CallCandidate)."""


@dataclass
class Delta:
    """What one `feed` or `close` adds to the output."""

    content: str = ""
    reasoning: str = ""
    calls: list[CallDelta] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.content or self.reasoning or self.calls)


class StreamParser(Protocol):
    """Per-request streaming state. Never raises; text that may be markup is held back."""

    def feed(self, text: str) -> Delta: ...

    def close(self) -> Delta: ...

    def result(self) -> Parsed: ...


class Dialect:
    """A named output format. Its whole-text parse is its stream parser fed the whole text
    and closed, so the two cannot disagree. `text_target` is where text outside any
    markup goes ("content", or "reasoning" for a server's reasoning field)."""

    name = ""

    def stream(self, tool_names: Sequence[str] = (), *, text_target: str = "content") -> Any:
        raise NotImplementedError

    def parse(self, text: str, tool_names: Sequence[str] = (), **options: Any) -> Parsed:
        parser = self.stream(tool_names, **options)
        parser.feed(text)
        parser.close()
        return parser.result()


def accumulate(deltas: Sequence[Delta]) -> Parsed:
    """Join a sequence of deltas into the Parsed they add up to (for callers and tests)."""
    content = "".join(d.content for d in deltas)
    reasoning = "".join(d.reasoning for d in deltas)
    names: dict[int, str] = {}
    arguments: dict[int, list[str]] = {}
    complete: dict[int, bool] = {}
    for delta in deltas:
        for call in delta.calls:
            if call.name is not None:
                names[call.index] = call.name
            if call.arguments is not None:
                arguments.setdefault(call.index, []).append(call.arguments)
                complete[call.index] = call.complete
    calls = [
        CallCandidate(names.get(i, ""), "".join(arguments.get(i, [])), complete.get(i, False))
        for i in sorted(names.keys() | arguments.keys())
    ]
    return Parsed(content or None, reasoning or None, calls)


_DIALECTS: dict[str, Dialect] = {}
T = TypeVar("T")


def register_dialect(name: str) -> Callable[[type[T]], type[T]]:
    """Register one instance of the decorated class under `name`."""

    def decorate(cls: type[T]) -> type[T]:
        instance = cls()
        instance.name = name  # type: ignore[attr-defined]
        _DIALECTS[name] = instance  # type: ignore[assignment]
        return cls

    return decorate


def get_dialect(name: str) -> Dialect:
    """The dialect registered as `name`; KeyError naming the known dialects otherwise."""
    try:
        return _DIALECTS[name]
    except KeyError:
        known = ", ".join(dialect_names()) or "none"
        raise KeyError(f"unknown dialect {name!r}; known dialects: {known}") from None


def dialect_names() -> list[str]:
    """Registered dialect names, sorted."""
    return sorted(_DIALECTS)
