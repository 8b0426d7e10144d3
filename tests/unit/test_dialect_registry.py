"""Dialect registry and dialect detection."""

from __future__ import annotations

import pytest

from agent.parsing import Parsed, detect_dialect, dialect_names, get_dialect, register_dialect
from agent.parsing.registry import _DIALECTS


def test_builtin_dialects_are_registered() -> None:
    assert dialect_names() == ["harmony", "hermes", "json"]
    assert all(get_dialect(name).name == name for name in dialect_names())


def test_unknown_dialect_error_lists_known_names() -> None:
    with pytest.raises(KeyError, match="harmony, hermes, json"):
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<|channel|>final<|message|>Hi", "harmony"),
        ("analysisWe need to answer.assistantfinalHi", "harmony"),
        ('commentary to=functions.get_weather json{"city":"Paris"}', "harmony"),
        ("Some text then to=functions.f", "harmony"),
        ('<tool_call>{"name": "f", "arguments": {}}</tool_call>', "hermes"),
        ('[{"name": "get_weather", "parameters": {}}]', "json"),
        ("<reasoning>hm</reasoning>Sol", "json"),
        ("Plain answer.", "json"),
        ("analysis of results is below", "json"),
        ("", "json"),
    ],
)
def test_detect_dialect(text: str, expected: str) -> None:
    assert detect_dialect(text, ["get_weather"]) == expected
