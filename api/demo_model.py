"""The demo model's mind: what it answers to a chat request, with no language model behind it.

It answers the way gpt-oss does (reasoning first, then an answer or a tool call) and calls the
built-in tools when asked: arithmetic goes to `calculator`, the time to `current_time`, and once
a tool has answered it says what the tool said. Anything else gets a short note on what the
demo can do. `api/demo_server.py` puts these replies on the wire.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

DEMO_MODEL_ID = "oss-agent-demo"
DEMO_NOTICE = (
    "Demo mode: answers come from the built-in demo model (scripted replies that call the"
    " calculator and clock tools), not from a language model. Start without --demo, with"
    " LLM_BASE_URL pointing at your model server, to use a real one."
)
TRY_THIS = 'Try "what is 6*7" (the calculator tool) or "what time is it" (the clock tool).'

# An arithmetic expression: numbers joined by operators, brackets allowed ("6*7", "(2+3)^2").
_ARITHMETIC = re.compile(r"[\d(][\d\s.()]*(?:[-+*/^%][\s(]*[\d.][\d\s.()]*)+")
QUESTION_CHARS = 500  # the regexes read only this much (a 1 MB message must not stall them)
_TIME_WORDS = re.compile(r"\b(time|clock|date|today|day is it)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One model turn: reasoning, then either content or one tool call."""

    reasoning: str
    content: str = ""
    call: ToolCall | None = None


def reply_to(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> Reply:
    """The demo model's next turn for a chat request's `messages` and `tools`."""
    offered = [t.get("function", {}).get("name", "") for t in tools or [] if isinstance(t, dict)]
    messages = [m for m in messages if isinstance(m, dict)]
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return _after_tool(messages, last)
    return _answer(text_of(last.get("content")), offered)


def text_of(content: Any) -> str:
    """A message's text, from a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _answer(question: str, offered: list[str]) -> Reply:
    question = question[:QUESTION_CHARS]
    quoted = json.dumps(question.strip()[:200], ensure_ascii=False)
    expression = _ARITHMETIC.search(question)
    if expression and any(ch.isdigit() for ch in expression.group()):
        wanted = expression.group().strip()
        return _call_or_explain(
            f"The user asks me to work out {wanted}. The calculator tool does arithmetic"
            " exactly, so I will call it.",
            ToolCall("calculator", {"expression": wanted}),
            offered,
        )
    if _TIME_WORDS.search(question):
        return _call_or_explain(
            "The user wants the current time. I cannot know it myself; the current_time tool"
            " reads the clock, so I will call it.",
            ToolCall("current_time", {"timezone": "UTC"}),
            offered,
        )
    return Reply(
        reasoning=f"The user wrote {quoted}. I am the demo model: no tool fits, so I will say"
        " what I can do.",
        content=f"I am oss-agent's demo model, a stand-in with no language model behind it,"
        f" so I only understand a few things. {TRY_THIS} You wrote: {quoted}.",
    )


def _call_or_explain(reasoning: str, call: ToolCall, offered: list[str]) -> Reply:
    if call.name in offered:
        return Reply(reasoning, call=call)
    return Reply(
        reasoning + f" But {call.name} is not among the tools of this request.",
        content=f"I would call the {call.name} tool for that, but this request does not offer"
        " it (see TOOLS_ENABLED, and the request's tools and tool_choice).",
    )


def _after_tool(messages: list[dict[str, Any]], result: dict[str, Any]) -> Reply:
    call = _call_answered_by(messages, result.get("tool_call_id"))
    said = text_of(result.get("content")).strip()
    if call is None:
        return Reply("A tool answered.", content=f"The tool says: {said}")
    name, arguments = call
    if name == "calculator":
        expression = arguments.get("expression", "that")
        return Reply(
            f"The calculator says {said}. I will give the user the result.",
            content=f"{expression} = {said}",
        )
    if name == "current_time":
        first_line = said.splitlines()[0] if said else said
        return Reply(
            "The clock answered. I will tell the user the time.",
            content=f"It is {first_line}.",
        )
    return Reply(f"The {name} tool answered.", content=f"The {name} tool says: {said}")


def _call_answered_by(
    messages: list[dict[str, Any]], call_id: str | None
) -> tuple[str, dict[str, Any]] | None:
    """The name and arguments of the assistant's tool call with `call_id`."""
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if call.get("id") == call_id:
                function = call.get("function", {})
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                return function.get("name", "tool"), arguments if isinstance(
                    arguments, dict
                ) else {}
    return None
