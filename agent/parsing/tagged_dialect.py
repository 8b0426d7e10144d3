"""The base of the dialects run by `TaggedStream` (hermes and json)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.parsing.tagged import TaggedStream
from agent.parsing.types import Dialect


class TaggedDialect(Dialect):
    """A dialect run by `TaggedStream`; subclasses say whether `<tool_call>` tags count."""

    tool_call_tags = False

    def stream(
        self, tool_names: Sequence[str] = (), *, text_target: str = "content"
    ) -> TaggedStream:
        return TaggedStream(tool_names, tool_call_tags=self.tool_call_tags, text_target=text_target)
