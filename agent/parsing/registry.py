"""Name -> dialect registry, filled by the `register_dialect` class decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from agent.parsing.types import Dialect

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
