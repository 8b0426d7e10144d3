"""One parser for every path: model output text to content, reasoning and tool calls.

Dialects (`harmony`, `hermes`, `json`, and `auto`, which detects them as the text goes)
are registered by name. Each offers a streaming parser (`feed(delta)` / `close()` /
`result()`), and its whole-text `parse` is that parser fed everything and closed, so a
streamed reply and a whole one cannot differ. `ReplyParser` runs a reply's content and
reasoning fields through them and keeps exactly what it handed out.
"""

from agent.parsing import auto, harmony, tagged  # noqa: F401 - registers them
from agent.parsing.reply import ReplyParser
from agent.parsing.types import (
    BARE_JSON,
    CALL_TAG,
    NATIVE,
    TOOL_MESSAGE,
    CallCandidate,
    CallDelta,
    Delta,
    Dialect,
    Parsed,
    StreamParser,
    accumulate,
    dialect_names,
    get_dialect,
    register_dialect,
)

__all__ = [
    "BARE_JSON",
    "CALL_TAG",
    "NATIVE",
    "TOOL_MESSAGE",
    "CallCandidate",
    "CallDelta",
    "Delta",
    "Dialect",
    "Parsed",
    "ReplyParser",
    "StreamParser",
    "accumulate",
    "dialect_names",
    "get_dialect",
    "register_dialect",
]
