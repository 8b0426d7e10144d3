"""Core of `oss-agent parse --jsonl`: model output text in, parsed message out.

Contract (stable; fixtures depend on it):

* Input: one JSON object per line, `{"text": str, "tools": [...]}` or
  `{"chunks": [str, ...], "tools": [...]}` (chunks are fed to the streaming parser in
  order), with an optional `"dialect"` (one of `dialect_names()`; `auto`, which detects
  it as the text goes, when absent) and an optional `"reasoning_opened": true` (as the
  service's REASONING_OPENED_IN_PROMPT: text before a first `</think>` is reasoning) and an
  optional `"finish_reason"` (as the server reported it: with `"length"`, a call the token
  limit cut off is dropped, as the service drops it).
  `tools` are OpenAI function tools and may be empty or absent: then names are only
  cleaned, not matched.
* Output: one JSON line per input line, in order:
  `{"content": str|null, "reasoning": str|null, "tool_calls": [{"name", "arguments"}]}`
  with empty text reported as null, or `{"error": str}` when the line cannot be made
  sense of (not JSON, not an object, no text/chunks, bad types, unknown dialect, or a
  tool call whose arguments cannot be recovered).
* Blank (whitespace-only) input lines are skipped: they produce no output line.
* The same input always gives the same output line. The exit status is 0 even when
  some lines report errors (errors are data here); it is 1 only if reading fails.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TextIO

from agent.parsing import Parsed, get_dialect
from agent.toolcalls import InvalidCall, ToolCall, collect_calls, tool_functions

logger = logging.getLogger(__name__)


class RecordError(ValueError):
    """An input record that cannot be parsed; its message goes into `{"error": ...}`."""


def run_jsonl(in_stream: TextIO, out_stream: TextIO) -> int:
    """Parse every JSON line of `in_stream`, writing one JSON line each to `out_stream`."""
    try:
        for line in in_stream:
            if not line.strip():
                continue
            out_stream.write(json.dumps(parse_line(line), ensure_ascii=False) + "\n")
            out_stream.flush()
    except OSError as error:
        logger.error("reading input failed: %s", error)
        return 1
    return 0


def parse_line(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as error:
        return {"error": f"input line is not valid JSON: {error}"}
    return parse_record(record)


def parse_record(obj: Any) -> dict[str, Any]:
    """Parse one input record; never raises."""
    try:
        return _parse_record(obj)
    except RecordError as error:
        return {"error": str(error)}
    except Exception as error:  # the CLI reports, it never crashes on a record
        logger.exception("unexpected failure parsing a record")
        return {"error": f"internal error: {type(error).__name__}: {error}"}


def _parse_record(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise RecordError("input must be a JSON object with 'text' or 'chunks'")
    tools = _tools(obj.get("tools"))
    names = list(tool_functions(tools))
    chunks = _chunks(obj)
    dialect_name = obj.get("dialect") or "auto"
    if not isinstance(dialect_name, str):
        raise RecordError("'dialect' must be a string")
    try:
        dialect = get_dialect(dialect_name)
    except KeyError as error:
        raise RecordError(error.args[0]) from None
    opened = obj.get("reasoning_opened", False)
    if not isinstance(opened, bool):
        raise RecordError("'reasoning_opened' must be true or false")
    options = {"reasoning_opened": opened} if dialect_name == "auto" else {}
    parser = dialect.stream(names, **options)
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()
    finish = obj.get("finish_reason")
    if finish is not None and not isinstance(finish, str):
        raise RecordError("'finish_reason' must be a string, e.g. \"length\"")
    return _output(parser.result(), tools, cut_off=finish == "length")


def _tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RecordError("'tools' must be a list of OpenAI function tool objects")
    return value


def _chunks(obj: dict[str, Any]) -> list[str]:
    if "text" in obj and "chunks" in obj:
        raise RecordError("give either 'text' or 'chunks', not both")
    if "text" in obj:
        if not isinstance(obj["text"], str):
            raise RecordError("'text' must be a string")
        return [obj["text"]]
    if "chunks" in obj:
        chunks = obj["chunks"]
        if not isinstance(chunks, list) or not all(isinstance(c, str) for c in chunks):
            raise RecordError("'chunks' must be a list of strings")
        return chunks
    raise RecordError("input has neither 'text' nor 'chunks'")


def _output(parsed: Parsed, tools: list[dict[str, Any]], *, cut_off: bool) -> dict[str, Any]:
    """The service's rule (collect_calls): with `cut_off`, a call the end cut off is dropped."""
    calls = collect_calls(parsed, [], tools, cut_off=cut_off, validate=False)
    invalid = [call for call in calls if isinstance(call, InvalidCall)]
    if invalid:
        raise RecordError(f"tool call '{invalid[0].name}': {invalid[0].error}")
    return {
        "content": parsed.content or None,
        "reasoning": parsed.reasoning or None,
        "tool_calls": [
            {"name": call.name, "arguments": call.arguments}
            for call in calls
            if isinstance(call, ToolCall)
        ],
    }
