"""Pick the dialect of a model output when the caller does not know it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.parsing.harmony_header import parse_stripped_header

_HARMONY_TOKEN = re.compile(r"<\|(?:start|channel|message|end|call|return|constrain)\|>")
_STRIPPED_HARMONY = re.compile(
    r"assistant(?:analysis|commentary|final)|(?:^|[\s.])(?:analysis|commentary)\s*to=\S"
    r"|\bto=functions\.[\w.\-]"
)
_FUNCTION_TAG = re.compile(r"<function(?:=|\s+name\s*=)")


def detect_dialect(text: str, tool_names: Sequence[str] = ()) -> str:
    """ "harmony" for harmony markup (with or without special tokens), "hermes" for
    `<tool_call>` or `<function=…>` tags, otherwise "json" (plain text, reasoning tags,
    JSON calls)."""
    if _HARMONY_TOKEN.search(text) or looks_like_stripped_harmony(text, tool_names):
        return "harmony"
    if "<tool_call>" in text or _FUNCTION_TAG.search(text):
        return "hermes"
    return "json"


def looks_like_stripped_harmony(text: str, tool_names: Sequence[str] = ()) -> bool:
    """Harmony whose special tokens a detokenizer removed (`analysisWe need…assistantfinal…`)."""
    start = len(text) - len(text.lstrip())
    header = parse_stripped_header(text, start, True, require_role=False, tool_names=tool_names)
    return header is not None or _STRIPPED_HARMONY.search(text) is not None
