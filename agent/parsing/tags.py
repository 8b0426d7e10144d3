"""The tags of the tagged dialects (hermes, json) and of auto detection.

Chat templates of thinking models (Qwen3, DeepSeek-R1, QwQ) often open the `<think>`
block in the prompt, so the output starts with reasoning and only a `</think>` marks
its end: when the first tag of an output is such a closer, the text before it is reasoning
(see auto.py).
"""

from __future__ import annotations

REASONING_TAGS = {"<think>": "</think>", "<reasoning>": "</reasoning>"}
CALL_OPEN, CALL_CLOSE, FENCE = "<tool_call>", "</tool_call>", "```"
# `<function=NAME>…</function>` and `<function name="NAME">…` (llama.cpp's Hermes 2 Pro
# parser, Functionary v3.1, Qwen3-Coder inside `<tool_call>`).
FUNCTION_OPENS, FUNCTION_OPEN, FUNCTION_CLOSE = (
    ("<function=", "<function name="),
    "<function",
    "</function>",
)

CALL_ELEMENTS = {
    CALL_OPEN: (CALL_OPEN, CALL_CLOSE),
    **dict.fromkeys(FUNCTION_OPENS, (FUNCTION_OPEN, FUNCTION_CLOSE)),
}
_OPENERS = {close: open_ for open_, close in REASONING_TAGS.items()}
CLOSERS = frozenset(_OPENERS)
FIRST_TAGS = (*REASONING_TAGS, *_OPENERS, CALL_OPEN, *FUNCTION_OPENS)
"""Tags that open something or close a reasoning block: a stray `</tool_call>` is neither."""
