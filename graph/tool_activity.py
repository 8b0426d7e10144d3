"""Server tool activity as stream events (`tool_started`, `tool_finished`), for clients that
ask to watch the agent's tools while a turn runs."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import ToolMessage

from agent.messages import content_text

RESULT_EXCERPT_CHARS = 500
ACTIVITY_KINDS = frozenset({"tool_started", "tool_finished"})


def started_event(call: dict[str, Any]) -> dict[str, Any]:
    """The event sent when a server tool call begins."""
    arguments = json.dumps(call.get("args") or {}, ensure_ascii=False)
    return {"kind": "tool_started", "id": call["id"], "name": call["name"], "arguments": arguments}


def finished_event(call: dict[str, Any], message: ToolMessage, seconds: float) -> dict[str, Any]:
    """The event sent when it ends: a result excerpt, or the error the model was told."""
    text = content_text(message.content)
    excerpt = text[:RESULT_EXCERPT_CHARS]
    failed = message.status == "error"
    return {
        "kind": "tool_finished",
        "id": call["id"],
        "name": call["name"],
        "result": None if failed else excerpt,
        "error": excerpt if failed else None,
        "duration_ms": round(seconds * 1000),
    }


async def watched(
    write: Callable[[dict[str, Any]], None],
    call: dict[str, Any],
    answer: Awaitable[ToolMessage],
) -> ToolMessage:
    """Await `answer`, writing the started and finished events around it."""
    write(started_event(call))
    began = time.monotonic()
    message = await answer
    write(finished_event(call, message, time.monotonic() - began))
    return message
