"""The `parse --jsonl` contract: one output line per input line, stable, never crashing."""

from __future__ import annotations

import io
import json

import pytest

from agent.parse_cli import parse_record, run_jsonl

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
HARMONY_CALL = (
    "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
    'commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>'
)
PARIS = {"name": "get_weather", "arguments": {"city": "Paris"}}


def run(lines: list[str]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    status = run_jsonl(io.StringIO("".join(line + "\n" for line in lines)), out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_text_record_with_detected_dialect() -> None:
    assert parse_record({"text": HARMONY_CALL, "tools": [WEATHER]}) == {
        "content": None,
        "reasoning": "Need weather.",
        "tool_calls": [PARIS],
    }


def test_chunks_are_streamed_and_give_the_same_result() -> None:
    chunks = [HARMONY_CALL[i : i + 3] for i in range(0, len(HARMONY_CALL), 3)]
    assert parse_record({"chunks": chunks, "tools": [WEATHER]}) == parse_record(
        {"text": HARMONY_CALL, "tools": [WEATHER]}
    )


def test_explicit_dialect_is_used() -> None:
    text = 'commentary to=functions.get_weather json{"city":"Paris"}'
    as_json = parse_record({"text": text, "dialect": "json", "tools": [WEATHER]})
    assert as_json == {"content": text, "reasoning": None, "tool_calls": []}
    as_harmony = parse_record({"text": text, "dialect": "harmony", "tools": [WEATHER]})
    assert as_harmony["tool_calls"] == [PARIS]


def test_without_tools_names_are_only_cleaned() -> None:
    text = "<|channel|>commentary to=functions.anything<|message|>{}<|call|>"
    assert parse_record({"text": text})["tool_calls"] == [{"name": "anything", "arguments": {}}]


def test_empty_text_gives_nulls() -> None:
    assert parse_record({"text": "", "tools": []}) == {
        "content": None,
        "reasoning": None,
        "tool_calls": [],
    }


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "JSON object"),
        ({"tools": []}, "neither 'text' nor 'chunks'"),
        ({"text": 3}, "'text' must be a string"),
        ({"chunks": ["a", 1]}, "'chunks' must be a list of strings"),
        ({"text": "a", "chunks": ["a"]}, "not both"),
        ({"text": "a", "tools": "x"}, "'tools' must be a list"),
        ({"text": "a", "dialect": "nope"}, "known dialects: auto, harmony, hermes, json"),
        ({"text": "<|channel|>commentary to=functions.x<|message|>{...}"}, "not a JSON object"),
    ],
)
def test_records_that_make_no_sense_give_an_error(record: object, message: str) -> None:
    output = parse_record(record)
    assert list(output) == ["error"]
    assert message in output["error"]


def test_jsonl_keeps_order_skips_blank_lines_and_reports_bad_lines() -> None:
    status, outputs = run(
        [
            json.dumps({"text": "Hello"}),
            "",
            "   ",
            "{not json",
            json.dumps({"text": HARMONY_CALL, "tools": [WEATHER]}),
        ]
    )
    assert status == 0
    assert outputs[0] == {"content": "Hello", "reasoning": None, "tool_calls": []}
    assert "not valid JSON" in outputs[1]["error"]
    assert outputs[2]["tool_calls"] == [PARIS]
    assert len(outputs) == 3


def test_output_is_stable() -> None:
    line = json.dumps({"text": HARMONY_CALL, "tools": [WEATHER]})
    first = io.StringIO()
    second = io.StringIO()
    run_jsonl(io.StringIO(line + "\n"), first)
    run_jsonl(io.StringIO(line + "\n"), second)
    assert first.getvalue() == second.getvalue()
    assert first.getvalue().count("\n") == 1


CUT_CALL = 'Checking. <tool_call>{"name": "get_weather", "arguments": {"city": "Pa'


def test_a_call_cut_by_the_token_limit_is_dropped_as_the_service_drops_it() -> None:
    cut = parse_record({"text": CUT_CALL, "tools": [WEATHER], "finish_reason": "length"})
    assert cut == {"content": "Checking.", "reasoning": None, "tool_calls": []}
    whole = parse_record({"text": CUT_CALL, "tools": [WEATHER], "finish_reason": "stop"})
    assert whole["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Pa"}}]


def test_finish_reason_must_be_a_string() -> None:
    assert "finish_reason" in parse_record({"text": "x", "finish_reason": 3})["error"]
