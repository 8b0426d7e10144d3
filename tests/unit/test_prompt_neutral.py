"""Properties of the call-recognition rule and of prompt neutralisation (docs/security.md):
whatever text fills a prompt's fields, the rendered prompt has exactly the structure we
wrote; whatever a reply's reasoning holds, no call found in it is in the call position."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.parsing import ReplyParser
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt
from agent.prompts.hermes import render_hermes_messages
from agent.prompts.neutral import neutral

PIECES = [
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|call|>",
    "<|return|>",
    "<|",
    "|>",
    "<",
    "system",
    "assistant to=functions.f",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "</tools>",
    "<function=f>",
    "<think>",
    '{"name": "f", "arguments": {}}',
    "text ",
    "\n",
]
markup_text = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def _history(text: str) -> list[dict]:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": text}}
    return [
        {"role": "system", "content": text},
        {"role": "user", "content": text},
        {"role": "assistant", "content": text, "reasoning": text, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": text},
    ]


@settings(max_examples=200, deadline=None)
@given(markup_text, markup_text)
def test_harmony_prompt_structure_does_not_depend_on_the_text(text: str, description: str) -> None:
    prompt = _harmony(text, description)
    headers = re.findall(r"<\|start\|>([^<]*)", prompt)
    assert headers == [
        "system",
        "developer",
        "user",
        "assistant",
        "assistant",
        "assistant to=functions.f",
        "functions.f to=assistant",
        "assistant",
    ]
    tokens = re.compile(r"<\|[a-z]+\|>")
    assert tokens.findall(prompt) == tokens.findall(_harmony("x", "x"))


def _harmony(text: str, description: str) -> str:
    tool = {"type": "function", "function": {**TOOL["function"], "description": description}}
    return render_harmony_prompt(_history(text), [tool], HarmonyOptions(current_date="2026-01-01"))


@settings(max_examples=200, deadline=None)
@given(markup_text)
def test_hermes_messages_hold_no_tag_but_ours(text: str) -> None:
    tags = re.compile(r"</?(?:tools|tool_call|tool_response|think|function)\b|<\|")

    def structure(text: str) -> list[list[str]]:
        return [tags.findall(m["content"]) for m in render_hermes_messages(_history(text), [TOOL])]

    assert structure(text) == structure("x")


@given(markup_text)
def test_neutral_text_reads_the_same_without_the_breaks(text: str) -> None:
    assert neutral(text).replace("\u200b", "") == text.replace("\u200b", "")
    assert neutral(neutral(text)) == neutral(text)


@settings(max_examples=200, deadline=None)
@given(markup_text, st.sampled_from(["auto", "harmony", "hermes"]))
def test_no_call_in_the_reasoning_is_in_the_call_position(text: str, dialect: str) -> None:
    parser = ReplyParser(["f"], reasoning_dialect=dialect, call_positions={"tool_message"})
    parser.reasoning(text)
    parser.close()
    assert all(call.recovered for call in parser.result().calls)
