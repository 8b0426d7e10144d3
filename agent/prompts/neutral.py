"""Text placed into a prompt can never be read as the prompt's structure.

Every text we place into a prompt (messages, tool results, tool names and descriptions,
call arguments, reasoning) passes through `neutral`: each harmony special token (`<|…|>`)
and each tag the Hermes prompt or our output parser reads as structure (`<tool_call>`,
`<tool_response>`, `<tools>`, `<function=…>`, `<think>`, `<reasoning>`, and their closers)
gets a zero-width space after its `<`. The model still reads the text; no tokenizer or parser
sees a marker in it, so data cannot open or close a message, and a model that echoes it
cannot write live call markup.
"""

from __future__ import annotations

import re

BREAK = "\u200b"
_MARKER_START = re.compile(
    r"<(?=\||/?(?:tool_call|tool_response|tools|function|think|reasoning)\b)", re.IGNORECASE
)


def neutral(text: str) -> str:
    """`text` with every marker broken (unchanged when it holds none)."""
    return _MARKER_START.sub("<" + BREAK, text) if "<" in text else text
