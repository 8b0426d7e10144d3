"""Dialect registry, and what auto detection makes of each dialect's text."""

from __future__ import annotations

import pytest

from agent.parsing import CallCandidate, Parsed, dialect_names, get_dialect, register_dialect
from agent.parsing.types import _DIALECTS


def test_builtin_dialects_are_registered() -> None:
    assert dialect_names() == ["auto", "harmony", "hermes", "json"]
    assert all(get_dialect(name).name == name for name in dialect_names())


def test_unknown_dialect_error_lists_known_names() -> None:
    with pytest.raises(KeyError, match="auto, harmony, hermes, json"):
        get_dialect("klingon")


def test_register_dialect_adds_a_named_instance() -> None:
    @register_dialect("echo-test")
    class Echo:
        def parse(self, text: str, tool_names: object = ()) -> Parsed:
            return Parsed(text, None)

    try:
        assert get_dialect("echo-test").parse("hi") == Parsed("hi", None)
        assert "echo-test" in dialect_names()
    finally:
        del _DIALECTS["echo-test"]


CALL = [CallCandidate("get_weather", '{"city":"Paris"}')]
PARIS = [CallCandidate("get_weather", '{"city": "Paris"}')]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<|channel|>final<|message|>Hi", Parsed("Hi", None)),
        ("analysisWe need to answer.assistantfinalHi", Parsed("Hi", "We need to answer.")),
        ('commentary to=functions.get_weather json{"city":"Paris"}', Parsed(None, None, CALL)),
        (
            '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>',
            Parsed(None, None, PARIS),
        ),
        ('[{"name": "get_weather", "parameters": {"city": "Paris"}}]', Parsed(None, None, PARIS)),
        ("<reasoning>hm</reasoning>Sol", Parsed("Sol", "hm")),
        ("Plain answer.", Parsed("Plain answer.", None)),
        ("analysis of results is below", Parsed("analysis of results is below", None)),
        ("", Parsed(None, None)),
    ],
)
def test_auto_detects_each_dialect(text: str, expected: Parsed) -> None:
    assert get_dialect("auto").parse(text, ["get_weather"]) == expected
