"""Properties of the one parser, over model outputs generated from a grammar per dialect.

Outputs are well-formed, broken in the ways the corpus and the reference notes record
(stripped special tokens, recipient in the role section, calls on the analysis channel,
`json` without `<|constrain|>`, missing closing tags, a template-opened `<think>`), carry
markers inside JSON strings and prose, and are truncated at every position. For each:

* streamed (split at random points) == the whole-text parse, for deltas and result;
* no harmony marker and no call tag reaches `content`;
* the calls are the ones written, markers inside their strings kept as data;
* cut anywhere, no call that the cut truncated survives `collect_calls` on a `length`
  finish: the calls left are the complete calls of the whole output, unchanged.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.parsing import Parsed, ReplyParser, accumulate, get_dialect
from agent.toolcalls import ToolCall, collect_calls

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("get_weather", "write_file")
]
NAMES = ["get_weather", "write_file"]
MARKUP = re.compile(r"<\|(start|channel|message|end|call|return|constrain)\|>|</?tool_call>")
DATA_MARKERS = ["<|call|>", "<|channel|>final", "</tool_call>", "<|end|>", "<tool_call>"]

words = st.sampled_from(["Paris", "the", "weather", "is", "fine", "42", "ok", "é", "line\n"])
prose = st.lists(words, min_size=1, max_size=6).map(" ".join).map(str.strip).filter(bool)
string_values = st.one_of(prose, st.sampled_from(DATA_MARKERS).map(lambda m: f"x{m}y"))
arguments = st.dictionaries(
    st.sampled_from(["city", "path", "content"]), string_values, min_size=1, max_size=3
)


@dataclass
class Output:
    """A generated model output and what it says."""

    text: str = ""
    calls: list[tuple[str, dict]] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)


def _call_json(args: dict) -> str:
    return json.dumps(args, ensure_ascii=False)


@st.composite
def harmony_outputs(draw: st.DrawFn) -> Output:
    out = Output()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["analysis", "preamble", "final", "call", "call-variant"]))
        start = "<|start|>assistant" if out.text or draw(st.booleans()) else ""
        if kind in ("analysis", "preamble", "final"):
            text = draw(prose)
            shown = text
            if kind == "analysis" and draw(st.booleans()):
                text += " I will not write <|call|> here."  # a marker in reasoning prose
                shown += " I will not write  here."  # the stray token dropped, not the prose
            channel = {"analysis": "analysis", "preamble": "commentary", "final": "final"}[kind]
            end = "<|return|>" if kind == "final" else "<|end|>"
            out.text += f"{start}<|channel|>{channel}<|message|>{text}{end}"
            (out.reasoning if kind == "analysis" else out.content).append(shown)
            continue
        name, args = draw(st.sampled_from(NAMES)), draw(arguments)
        out.calls.append((name, args))
        if kind == "call":
            header = f"<|channel|>commentary to=functions.{name} <|constrain|>json"
        else:  # recipient in the role section / on analysis / bare `json` (corpus F1, F7)
            header = draw(
                st.sampled_from(
                    [
                        f" to=functions.{name}<|channel|>commentary json",
                        f"<|channel|>analysis to=functions.{name} <|constrain|>json",
                        f"<|channel|>commentary to=functions.{name} json",
                    ]
                )
            )
            start = "<|start|>assistant" if out.text else start
        out.text += f"{start}{header}<|message|>{_call_json(args)}<|call|>"
    return out


@st.composite
def stripped_harmony_outputs(draw: st.DrawFn) -> Output:
    """Harmony whose special tokens a detokenizer dropped (corpus C16, C17, C25a)."""
    out = Output()
    reasoning = draw(prose)
    out.text, out.reasoning = f"analysis{reasoning}.", [reasoning + "."]
    if draw(st.booleans()):
        name, args = draw(st.sampled_from(NAMES)), draw(arguments)
        out.text += f"assistantcommentary to=functions.{name} json{_call_json(args)}"
        out.calls.append((name, args))
    answer = draw(prose).capitalize()
    out.text += f"assistantfinal{answer}"
    out.content.append(answer)
    return out


@st.composite
def hermes_outputs(draw: st.DrawFn, *, template_think: bool = False) -> Output:
    """With `template_think`, the chat template may have opened `<think>` (Qwen3): the
    output starts with reasoning and only `</think>` ends it (auto detection only)."""
    out = Output()
    if draw(st.booleans()):
        opened = not template_think or draw(st.booleans())
        thought = draw(prose) + " (never </tool_call> here)"
        if opened:  # before the first tag, `<|` would say harmony
            thought += " (nor <|channel|>final)"
        out.reasoning.append(thought)
        out.text += f"<think>{thought}</think>" if opened else f"{thought}</think>"
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            text = draw(prose)
            out.text += text + "\n"
            out.content.append(text)
        name, args = draw(st.sampled_from(NAMES)), draw(arguments)
        envelope = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
        out.text += f"<tool_call>\n{envelope}\n</tool_call>"
        out.calls.append((name, args))
    return out


@st.composite
def json_outputs(draw: st.DrawFn) -> Output:
    """A bare JSON call as the whole content (corpus C10), fenced or not."""
    calls = draw(st.lists(st.tuples(st.sampled_from(NAMES), arguments), min_size=1, max_size=2))
    value = [{"name": n, "parameters": a} for n, a in calls]
    text = json.dumps(value if len(value) > 1 else value[0], ensure_ascii=False)
    fenced = draw(st.booleans())
    return Output(f"```json\n{text}\n```" if fenced else text, list(calls))


OUTPUTS = {
    "harmony": st.one_of(harmony_outputs(), stripped_harmony_outputs()),
    "hermes": hermes_outputs(),
    "auto": st.one_of(
        harmony_outputs(),
        stripped_harmony_outputs(),
        hermes_outputs(template_think=True),
        json_outputs(),
    ),
}
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def splits(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=12)))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


# auto as a service with REASONING_OPENED_IN_PROMPT=true parses (template-opened <think>)
OPTIONS: dict[str, dict] = {"auto": {"reasoning_opened": True}, "harmony": {}, "hermes": {}}


def whole(dialect: str, text: str) -> Parsed:
    return get_dialect(dialect).parse(text, NAMES, **OPTIONS[dialect])


def streamed(dialect: str, parts: list[str]) -> tuple[Parsed, Parsed]:
    parser = get_dialect(dialect).stream(NAMES, **OPTIONS[dialect])
    deltas = [parser.feed(part) for part in parts]
    deltas.append(parser.close())
    return accumulate(deltas), parser.result()


def calls_of(parsed: Parsed) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in parsed.calls]


def check_output(dialect: str, output: Output, data: st.DataObject) -> None:
    expected = whole(dialect, output.text)
    parts = splits(data.draw, output.text)
    accumulated, result = streamed(dialect, parts)
    assert result == expected, parts
    assert accumulated == expected, parts
    assert not MARKUP.search(expected.content or ""), expected
    assert calls_of(expected) == output.calls
    for text in output.content:
        assert text in (expected.content or "")
    for text in output.reasoning:
        assert text in (expected.reasoning or "")


@SETTINGS
@given(output=OUTPUTS["harmony"], data=st.data())
def test_harmony_outputs(output: Output, data: st.DataObject) -> None:
    check_output("harmony", output, data)


@SETTINGS
@given(output=OUTPUTS["hermes"], data=st.data())
def test_hermes_outputs(output: Output, data: st.DataObject) -> None:
    check_output("hermes", output, data)


@SETTINGS
@given(output=OUTPUTS["auto"], data=st.data())
def test_auto_outputs(output: Output, data: st.DataObject) -> None:
    check_output("auto", output, data)


@SETTINGS
@given(output=OUTPUTS["auto"], preamble=prose, data=st.data())
def test_auto_switches_when_markup_comes_late(
    output: Output, preamble: str, data: st.DataObject
) -> None:
    """Plain text first (it streams at once), markup later: the same parse as the markup
    alone, with the preamble as content."""
    if not output.text.startswith(("<|", "<tool_call>")):
        return
    text = f"{preamble} {output.text}"
    expected = whole("auto", text)
    accumulated, _ = streamed("auto", splits(data.draw, text))
    assert accumulated == expected
    assert (expected.content or "").startswith(preamble)
    assert calls_of(expected) == output.calls


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(output=OUTPUTS["auto"])
def test_a_cut_never_yields_a_truncated_call(output: Output) -> None:
    """Cut at every position and finished by the token limit: the calls left are complete
    calls of the whole output, never a repaired fragment; content stays free of markup
    (a bare JSON call cut short is not a call: it stays text, strings and all)."""
    full = [(n, a) for n, a in output.calls]
    for cut in range(len(output.text) + 1):
        parser = ReplyParser(NAMES)
        parser.content(output.text[:cut])
        parser.close()
        parsed = parser.result()
        if not output.text.startswith(("{", "[", "`")):  # JSON cut short stays text, as data
            assert not MARKUP.search(parsed.content or ""), (cut, parsed)
        calls = collect_calls(parsed, [], TOOLS, cut_off=True)
        got = [(c.name, c.arguments) for c in calls if isinstance(c, ToolCall)]
        assert len(got) == len(calls), (cut, calls)
        assert got == full[: len(got)], (cut, output.text[:cut], got)
