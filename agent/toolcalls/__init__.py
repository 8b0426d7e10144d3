"""Correct tool calls against the offered tools: the public API of the tool-call layer.

* `resolve_call(s)`: a dialect's CallCandidate -> ToolCall | InvalidCall.
* `collect_calls`: a reply's native calls and the calls parsed from its text, resolved.
* `clean_name`, `repair_arguments`, `validate_arguments`: the steps, usable alone.
"""

from agent.toolcalls.resolve import (
    clean_name,
    collect_calls,
    describe_schema,
    fits_schema,
    parse_arguments,
    repair_arguments,
    resolve_call,
    resolve_calls,
    tail_call_namer,
    validate_arguments,
)
from agent.toolcalls.types import (
    InvalidCall,
    ToolCall,
    parameters_schema,
    tool_functions,
)

__all__ = [
    "InvalidCall",
    "ToolCall",
    "clean_name",
    "collect_calls",
    "describe_schema",
    "fits_schema",
    "parameters_schema",
    "parse_arguments",
    "repair_arguments",
    "resolve_call",
    "resolve_calls",
    "tail_call_namer",
    "tool_functions",
    "validate_arguments",
]
