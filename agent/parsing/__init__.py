"""Tool-call dialects: parsers from model output text to content, reasoning and calls.

Each dialect is registered by name and offers a pure `parse(text, tool_names)` and a
per-request streaming parser (`stream(tool_names)` -> `feed(delta)`/`close()`/`result()`)
whose accumulated output always equals the full parse.
"""

from agent.parsing import harmony, hermes, json_calls  # noqa: F401 - registers the dialects
from agent.parsing.detect import detect_dialect
from agent.parsing.registry import dialect_names, get_dialect, register_dialect
from agent.parsing.tags import reasoning_opener
from agent.parsing.types import (
    CallCandidate,
    CallDelta,
    Delta,
    Dialect,
    Parsed,
    StreamParser,
    accumulate,
)

__all__ = [
    "CallCandidate",
    "CallDelta",
    "Delta",
    "Dialect",
    "Parsed",
    "StreamParser",
    "accumulate",
    "detect_dialect",
    "dialect_names",
    "get_dialect",
    "reasoning_opener",
    "register_dialect",
]
