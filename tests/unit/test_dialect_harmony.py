"""Harmony dialect: table of raw and stripped gpt-oss outputs and their parse.

Cases follow the kinds covered by vLLM's harmony tests (simple chat, preamble + call,
reasoning + call, several calls, calls on the analysis channel, bare recipients,
invalid recipients), harmony's parser tests (missing `<|message|>`) and the failure
taxonomy F1-F16 of the gpt-oss reference.
"""

from __future__ import annotations

import pytest

from agent.parsing import CallCandidate, Parsed, get_dialect

HARMONY = get_dialect("harmony")
CALL = "<|call|>"
WEATHER = '{"city":"Paris"}'

CASES: list[tuple[str, str, Parsed]] = [
    (
        "final only",
        "<|channel|>final<|message|>The answer is 2.<|return|>",
        Parsed("The answer is 2.", None),
    ),
    (
        "analysis then final (vLLM test_simple_chat)",
        "<|channel|>analysis<|message|>User asks 1+1.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>The answer is 2.<|end|>",
        Parsed("The answer is 2.", "User asks 1+1."),
    ),
    (
        "preamble then call with recipient in the role",
        "<|channel|>commentary<|message|>We'll call get_weather.<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary<|constrain|>json"
        f"<|message|>{WEATHER}{CALL}",
        Parsed("We'll call get_weather.", None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "recipient after the channel, space before <|constrain|>",
        "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
        f"commentary to=functions.get_weather <|constrain|>json<|message|>{WEATHER}{CALL}",
        Parsed(None, "Need weather.", [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "plain json content type, no <|call|> (output cut at the stop token)",
        f"<|channel|>commentary to=functions.get_weather json<|message|>{WEATHER}",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "no content type, ends with <|end|>",
        "<|start|>assistant to=functions.get_weather<|channel|>commentary"
        f"<|message|>{WEATHER}<|end|>",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "several calls in one output",
        f"<|channel|>commentary to=functions.a json<|message|>{{}}{CALL}"
        f'<|start|>assistant<|channel|>commentary to=functions.b json<|message|>{{"x": 1}}{CALL}',
        Parsed(None, None, [CallCandidate("a", "{}"), CallCandidate("b", '{"x": 1}')]),
    ),
    (
        "call on the analysis channel is still a call (F1)",
        f"<|channel|>analysis to=functions.get_weather<|message|>{WEATHER}{CALL}",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "final answer after a call",
        f"<|channel|>commentary to=functions.a json<|message|>{{}}{CALL}"
        "<|start|>assistant<|channel|>final<|message|>Done.<|return|>",
        Parsed("Done.", None, [CallCandidate("a", "{}")]),
    ),
    (
        "final <|constrain|>JSON is content, not a call (C20/C21)",
        '<|start|>assistant<|channel|>final <|constrain|>JSON<|message|>{"ok":true}',
        Parsed('{"ok":true}', None),
    ),
    (
        "junk before the channel name (C15)",
        f"<|channel|>––commentary to=functions.f<|message|>{{}}{CALL}",
        Parsed(None, None, [CallCandidate("f", "{}")]),
    ),
    (
        "junk after the channel name",
        "<|channel|>commentary?<|message|>Checking now.<|end|>",
        Parsed("Checking now.", None),
    ),
    (
        "recipient after the content type where <|message|> was expected (C41)",
        f"<|channel|>commentary json to=functions.f<|message|>{{}}{CALL}",
        Parsed(None, None, [CallCandidate("f", "{}")]),
    ),
    (
        "bare recipient without functions. prefix",
        f"<|channel|>commentary to=get_weather<|message|>{WEATHER}{CALL}",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "to=assistant is not a function call",
        "<|channel|>commentary to=assistant<|message|>Thinking aloud.<|end|>",
        Parsed("Thinking aloud.", None),
    ),
    (
        "gpt-oss's own browser tool is a call to the browser_search server tool",
        '<|channel|>analysis to=browser.search code<|message|>{"query":"x"}<|call|>',
        Parsed(None, None, [CallCandidate("browser_search", '{"query":"x"}')]),
    ),
    (
        "a python call's body is its code (issue 19: it used to vanish, an empty reply)",
        "<|channel|>analysis<|message|>Compute.<|end|>"
        "<|start|>assistant<|channel|>analysis to=python code<|message|>print(6*7)<|call|>",
        Parsed(None, "Compute.", [CallCandidate("python", '{"code": "print(6*7)"}')]),
    ),
    (
        "python code that looks like JSON is still code",
        '<|channel|>analysis to=python code<|message|>[1, {"a": 2}]<|call|>',
        Parsed(None, None, [CallCandidate("python", '{"code": "[1, {\\"a\\": 2}]"}')]),
    ),
    (
        "other built-in namespaces are still dropped",
        '<|channel|>analysis to=container.exec json<|message|>{"cmd":["ls"]}<|call|>',
        Parsed(None, None),
    ),
    (
        "<|call|> inside a JSON string is data",
        '<|channel|>commentary to=functions.f json<|message|>{"s":"a<|call|>b"}<|call|>',
        Parsed(None, None, [CallCandidate("f", '{"s":"a<|call|>b"}')]),
    ),
    (
        "missing <|end|> between messages",
        "<|channel|>analysis<|message|>think<|start|>assistant<|channel|>final<|message|>ok",
        Parsed("ok", "think"),
    ),
    (
        "header without <|message|> keeps its text (harmony strict=False)",
        "<|channel|>analysis I must refuse<|end|>"
        "<|start|>assistant<|channel|>final<|message|>No.<|return|>",
        Parsed("No.", "I must refuse"),
    ),
    (
        "non-JSON arguments are kept raw",
        "<|channel|>commentary to=functions.shell<|message|>ls -R\n<|call|>",
        Parsed(None, None, [CallCandidate("shell", "ls -R")]),
    ),
    (
        "plain text without markup is content",
        "Hello there, how can I help?",
        Parsed("Hello there, how can I help?", None),
    ),
    (
        "output cut short inside a header",
        "<|channel|>analysis<|message|>Let me<|end|><|start|>assistant<|channel|>comm",
        Parsed(None, "Let me"),
    ),
    (
        "doubled <|start|> (C31)",
        "<|start|><|start|>assistant<|channel|>final<|message|>x<|return|>",
        Parsed("x", None),
    ),
    (
        "a new header without <|start|> after <|call|> (C14)",
        f"<|channel|>commentary to=functions.a json<|message|>{{}}{CALL}"
        f"commentary to=functions.b json<|message|>{{}}{CALL}",
        Parsed(None, None, [CallCandidate("a", "{}"), CallCandidate("b", "{}")]),
    ),
    (
        "several analysis messages are joined by a newline",
        "<|channel|>analysis<|message|>one<|end|><|start|>assistant<|channel|>analysis"
        "<|message|>two<|end|>",
        Parsed(None, "one\ntwo"),
    ),
    (
        "doubled malformed header is dropped, the well-formed message kept (C33)",
        "<|channel|>commentary to=assistant<|channel|>commentary?...<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>fine<|end|>",
        Parsed(None, "fine"),
    ),
    (
        "made-up tool result message is dropped",
        '<|start|>functions.f to=assistant<|channel|>commentary<|message|>{"r":1}<|end|>',
        Parsed(None, None),
    ),
    (
        "output starting with the role section's recipient (prompt ended <|start|>assistant)",
        f" to=functions.get_weather<|channel|>commentary json<|message|>{WEATHER}",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "header cut off after the recipient: the call is flagged as truncated (C40)",
        "<|channel|>analysis<|message|>…<|start|>assistant<|channel|>commentary"
        " to=functions.read_file …",
        Parsed(None, "…", [CallCandidate("read_file", "…", complete=False)]),
    ),
]

STRIPPED_CASES: list[tuple[str, str, Parsed]] = [
    (
        "analysis then final (C16)",
        "\nanalysisWe should say four.assistantfinalfour",
        Parsed("four", "We should say four."),
    ),
    (
        "call with json glued to the body (C25a)",
        f"commentary to=functions.get_weather json{WEATHER}",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "recipient in the role glued to the channel name",
        f"analysisNeed it.assistant to=functions.get_weathercommentary json{WEATHER}",
        Parsed(None, "Need it.", [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "preamble and call",
        "analysisHmm.assistantcommentaryLet me look.assistantcommentary to=functions.f json{}",
        Parsed("Let me look.", "Hmm.", [CallCandidate("f", "{}")]),
    ),
    (
        "prose mentioning the assistant is not a header",
        "analysisThe assistant should answer.assistantfinalOK",
        Parsed("OK", "The assistant should answer."),
    ),
    (
        "ordinary prose starting with a channel word stays content",
        "analysis of the data shows growth",
        Parsed("analysis of the data shows growth", None),
    ),
    (
        "stripped output starting with the role section's recipient",
        f" to=functions.get_weathercommentary json{WEATHER}",
        Parsed(None, None, [CallCandidate("get_weather", WEATHER)]),
    ),
    (
        "a leading final word is prose unless followed by its body",
        "finally, the answer is 4",
        Parsed("finally, the answer is 4", None),
    ),
    (
        "final answer after a stripped call",
        "commentary to=functions.f json{}assistantfinalDone",
        Parsed("Done", None, [CallCandidate("f", "{}")]),
    ),
]


@pytest.mark.parametrize(("label", "text", "expected"), CASES + STRIPPED_CASES)
def test_harmony_parse(label: str, text: str, expected: Parsed) -> None:
    assert HARMONY.parse(text) == expected, label


def test_known_tool_name_decides_where_a_glued_channel_splits() -> None:
    text = "assistant to=functions.final_answercommentary json{}"
    parsed = HARMONY.parse(text, ["final_answer"])
    assert parsed.calls == [CallCandidate("final_answer", "{}")]


def test_name_with_glued_json_is_left_for_the_name_cleaner() -> None:
    parsed = HARMONY.parse("<|channel|>commentary to=functions.shelljson<|message|>{}")
    assert parsed.calls == [CallCandidate("shelljson", "{}")]


def test_stream_emits_reasoning_before_the_message_ends() -> None:
    stream = HARMONY.stream()
    delta = stream.feed("<|channel|>analysis<|message|>We need to ")
    assert delta.reasoning == "We need to"
    assert stream.feed("think<|en").reasoning == " think"
    assert stream.close().reasoning == ""


def test_stream_holds_back_a_partial_token() -> None:
    stream = HARMONY.stream()
    assert stream.feed("<|channel|>final<|message|>Hi <|st").content == "Hi"
    delta = stream.feed("art|>assistant")
    assert delta.content == ""
    stream.close()
    assert stream.result() == Parsed("Hi", None)


def test_stream_reports_call_name_then_arguments() -> None:
    stream = HARMONY.stream()
    first = stream.feed("<|channel|>commentary to=functions.f json<|message|>{")
    assert [(c.index, c.name) for c in first.calls] == [(0, "f")]
    last = stream.feed('"a": 1}<|call|>')
    assert [(c.index, c.arguments) for c in last.calls] == [(0, '{"a": 1}')]
