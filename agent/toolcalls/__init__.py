"""Correct tool calls against the offered tools: the public API of the tool-call layer.

* `resolve_call(s)`: a dialect's CallCandidate -> ToolCall | InvalidCall.
* `sanitize_native`: an OpenAI-style assistant message from a server -> SanitizedMessage.
* `clean_name`, `repair_arguments`, `validate_arguments`: the steps, usable alone.
"""

from agent.toolcalls.names import clean_name
from agent.toolcalls.native import sanitize_native
from agent.toolcalls.repair import (
    describe_schema,
    fits_schema,
    parse_arguments,
    repair_arguments,
    validate_arguments,
)
from agent.toolcalls.resolve import resolve_call, resolve_calls
from agent.toolcalls.types import (
    InvalidCall,
    SanitizedMessage,
    ToolCall,
    parameters_schema,
    text_of,
    tool_functions,
)

__all__ = [
    "InvalidCall",
    "SanitizedMessage",
    "ToolCall",
    "clean_name",
    "describe_schema",
    "fits_schema",
    "parameters_schema",
    "parse_arguments",
    "repair_arguments",
    "resolve_call",
    "resolve_calls",
    "sanitize_native",
    "text_of",
    "tool_functions",
    "validate_arguments",
]
