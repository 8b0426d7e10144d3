"""Bare JSON calls: an object or array of `{"name", "arguments"|"parameters"}` envelopes,
alone, in prose or in a ```json fence. Only JSON naming an offered tool is a call, so
ordinary JSON answers stay content. `<think>`/`<reasoning>` blocks become reasoning.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.dialects.registry import register_dialect
from agent.dialects.tagged import TaggedStream
from agent.dialects.types import Parsed


@register_dialect("json")
class JsonDialect:
    name = "json"

    def parse(self, text: str, tool_names: Sequence[str] = ()) -> Parsed:
        stream = self.stream(tool_names)
        stream.feed(text)
        stream.close()
        return stream.result()

    def stream(self, tool_names: Sequence[str] = ()) -> TaggedStream:
        return TaggedStream(tool_names, tool_call_tags=False)
