"""The JSON checks of the body guard: what is refused, what is not, and nesting measured the
same way on text (tool-call arguments) as on parsed JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import AgentError
from api.limits import _parse_checked, bracket_depth, parse_strict

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), inner, max_size=3)
    ),
    max_leaves=20,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(JSON_VALUES)
def test_bracket_depth_of_json_text_is_its_nesting(value: object) -> None:
    assert bracket_depth(json.dumps(value)) == _depth(value)


@pytest.mark.parametrize(
    "text", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e999", '{"x": [-1e400]}']
)
def test_numbers_json_cannot_write_back_are_refused(text: str) -> None:
    with pytest.raises(AgentError) as refused:
        parse_strict(text, 64)
    assert refused.value.code == "invalid_json"


@pytest.mark.parametrize(
    ("text", "param"),
    [('"\\ud800"', None), ('{"a": ["\\udfff"]}', "a.0"), ('{"\\ud800": 1}', None)],
)
def test_a_lone_surrogate_is_refused_where_it_is(text: str, param: str | None) -> None:
    with pytest.raises(AgentError) as refused:
        parse_strict(text, 64)
    assert refused.value.code == "invalid_json" and refused.value.param == param


def test_a_surrogate_pair_and_other_unicode_pass() -> None:
    value = parse_strict('{"emoji": "\\ud83d\\ude00", "text": "clé 日本"}', 64)
    assert value == {"emoji": "😀", "text": "clé 日本"}


@pytest.mark.parametrize("levels", [9, 5000])
def test_nesting_past_the_limit_is_refused(levels: int) -> None:
    with pytest.raises(AgentError) as refused:
        parse_strict("[" * levels + "]" * levels, 8)
    assert refused.value.code == "json_too_deep" and "MAX_JSON_DEPTH" in refused.value.message


def test_nesting_at_the_limit_passes() -> None:
    assert parse_strict("[" * 8 + "]" * 8, 8) is not None


ANY_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()  # NaN and infinities too
    | st.text(st.characters(codec=None), max_size=6),  # lone surrogates too
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=25,
)


def _outcome(parse, text: str, depth: int) -> object:
    try:
        return ("parsed", parse(text, depth))
    except AgentError as error:
        return ("refused", error.code, error.param)


@given(ANY_VALUES, st.integers(1, 6))
def test_the_fast_parse_accepts_and_refuses_what_the_checked_parse_does(
    value: object, depth: int
) -> None:
    text = json.dumps(value)  # writes NaN, Infinity and lone surrogates (as \ud800)
    fast = _outcome(parse_strict, text, depth)
    checked = _outcome(lambda t, d: _parse_checked(t, d, None), text, depth)
    if fast[0] == "parsed" and checked[0] == "parsed":
        assert json.dumps(fast[1]) == json.dumps(checked[1])  # floats compared as written
    else:
        assert fast == checked
