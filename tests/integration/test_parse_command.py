"""`oss-agent parse --jsonl` as a process: the stable contract on corpus text and bad lines."""

from __future__ import annotations

import json
import subprocess

from tests.integration.service import OSS_AGENT
from tests.integration.test_corpus_replay import KNOWN

TEXT_SURFACES = ("raw", "content")


def _run(lines: list[str]) -> list[dict]:
    result = subprocess.run(
        [OSS_AGENT, "parse", "--jsonl"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _inputs() -> list[tuple[dict, dict]]:
    pairs = []
    for record in KNOWN:
        data = record["input"]
        if record["surface"] in TEXT_SURFACES:
            pairs.append(({"text": data, "tools": record["tools"]}, record["expected"]))
        elif record["surface"] == "stream" and not data[0].startswith("data: "):
            pairs.append(({"chunks": data, "tools": record["tools"]}, record["expected"]))
    return pairs


def test_corpus_text_parses_as_expected() -> None:
    pairs = _inputs()
    assert len(pairs) >= 15
    outputs = _run([json.dumps(given) for given, _ in pairs])
    assert len(outputs) == len(pairs)
    for (given, expected), got in zip(pairs, outputs, strict=True):
        assert set(got) == {"content", "reasoning", "tool_calls"}, (given, got)
        assert got["content"] == (expected["content"] or None), given
        assert got["reasoning"] == (expected["reasoning"] or None), given
        assert got["tool_calls"] == expected["tool_calls"], given


def test_every_character_split_gives_the_same_line() -> None:
    text = (
        "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
        'commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}'
        "<|call|>"
    )
    whole = {"text": text, "tools": []}
    split = {"chunks": list(text), "tools": []}
    first, second = _run([json.dumps(whole), json.dumps(split)])
    assert (
        first
        == second
        == {
            "content": None,
            "reasoning": "Need weather.",
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
        }
    )


def test_bad_lines_get_errors_in_order() -> None:
    outputs = _run(
        [
            "not json",
            json.dumps({"tools": []}),
            json.dumps({"text": "hi", "dialect": "klingon"}),
            json.dumps({"text": "plain answer"}),
        ]
    )
    assert [sorted(o) for o in outputs[:3]] == [["error"], ["error"], ["error"]]
    assert "harmony" in outputs[2]["error"]  # lists the known dialects
    assert outputs[3] == {"content": "plain answer", "reasoning": None, "tool_calls": []}
