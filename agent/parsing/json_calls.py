"""Bare JSON calls: an object or array of `{"name", "arguments"|"parameters"}` envelopes,
alone, in prose or in a ```json fence. Only JSON naming an offered tool is a call, so
ordinary JSON answers stay content. `<think>`/`<reasoning>` blocks become reasoning.
"""

from __future__ import annotations

from agent.parsing.registry import register_dialect
from agent.parsing.tagged_dialect import TaggedDialect


@register_dialect("json")
class JsonDialect(TaggedDialect):
    name = "json"
    tool_call_tags = False
