"""Run server-side tool calls: concurrently, bounded in time and output size."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from agent.messages import content_text, server_tool_message
from agent.prompts.nudges import TOOL_ERROR_MESSAGE
from graph.prompts import TRUNCATED_NOTE


def truncate(text: str, budget: int) -> str:
    """Cut `text` to `budget` characters and say so, so the model knows it saw a part."""
    if len(text) <= budget:
        return text
    return text[:budget] + TRUNCATED_NOTE.format(shown=budget, total=len(text))


def _as_text(output: Any) -> str:
    if isinstance(output, ToolMessage):
        output = output.content
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return content_text(output) or json.dumps(output, default=str)
    return json.dumps(output, default=str, ensure_ascii=False)


async def run_tool(
    tool: BaseTool, call: dict[str, Any], time_limit: float, budget: int
) -> ToolMessage:
    """Run one call; any failure becomes an error tool message the model can read. Output
    and error text alike are cut to `budget` characters (TOOL_OUTPUT_MAX_CHARS)."""
    try:
        async with asyncio.timeout(time_limit):
            output = await tool.ainvoke(call["args"])
    except TimeoutError:
        return error_message(call, f"tool {call['name']!r} did not finish within {time_limit:g} s")
    except Exception as exc:  # a tool failure must never end the turn
        detail = str(exc) or type(exc).__name__
        return error_message(call, truncate(f"tool {call['name']!r} failed: {detail}", budget))
    return server_tool_message(call, truncate(_as_text(output), budget))


def error_message(call: dict[str, Any], error: str) -> ToolMessage:
    """A tool message telling the model why its call did not work."""
    return server_tool_message(call, TOOL_ERROR_MESSAGE.format(error=error), status="error")
