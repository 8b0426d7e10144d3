"""Hermes / Qwen tool calls: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`.

Also accepted: a missing closing tag, several calls, text around them, `<think>` or
`<reasoning>` blocks as reasoning, and fenced or bare JSON calls naming an offered tool
(models in prompt mode often forget the tags).
"""

from __future__ import annotations

from agent.parsing.registry import register_dialect
from agent.parsing.tagged_dialect import TaggedDialect


@register_dialect("hermes")
class HermesDialect(TaggedDialect):
    name = "hermes"
    tool_call_tags = True
