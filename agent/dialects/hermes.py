"""Hermes / Qwen tool calls: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`.

Also accepted: a missing closing tag, several calls, text around them, `<think>` or
`<reasoning>` blocks as reasoning, and fenced or bare JSON calls naming an offered tool
(models in prompt mode often forget the tags).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.dialects.registry import register_dialect
from agent.dialects.tagged import TaggedStream
from agent.dialects.types import Parsed


@register_dialect("hermes")
class HermesDialect:
    name = "hermes"

    def parse(self, text: str, tool_names: Sequence[str] = ()) -> Parsed:
        stream = self.stream(tool_names)
        stream.feed(text)
        stream.close()
        return stream.result()

    def stream(self, tool_names: Sequence[str] = ()) -> TaggedStream:
        return TaggedStream(tool_names, tool_call_tags=True)
