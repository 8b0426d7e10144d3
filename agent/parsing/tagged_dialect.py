"""The base of the dialects run by `TaggedStream` (hermes and json)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.parsing.tagged import TaggedStream
from agent.parsing.types import Parsed


class TaggedDialect:
    """A dialect run by `TaggedStream`; subclasses say whether `<tool_call>` tags count."""

    name = ""
    tool_call_tags = False

    def parse(self, text: str, tool_names: Sequence[str] = ()) -> Parsed:
        stream = self.stream(tool_names)
        stream.feed(text)
        stream.close()
        return stream.result()

    def stream(self, tool_names: Sequence[str] = ()) -> TaggedStream:
        return TaggedStream(tool_names, tool_call_tags=self.tool_call_tags)
