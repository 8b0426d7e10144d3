"""The streaming response: graph events in, `chat.completion.chunk` SSE events out."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from agent.errors import AgentError
from api.completion import public_activity, usage_of
from api.errors import agent_error_body, error_body
from api.logs import note
from api.protocol import new_completion_id
from api.turn import APPROVALS
from graph.tool_activity import ACTIVITY_KINDS
from graph.turn import TurnOutcome, turn_outcome

logger = logging.getLogger(__name__)


class ChunkWriter:
    """Builds chunks that share one id and `created`, as OpenAI clients expect."""

    def __init__(self, model: str, include_usage: bool, tool_activity: bool = False) -> None:
        self.id = new_completion_id()
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.tool_activity = tool_activity

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        """One chunk with a single choice."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._dump({"choices": [choice]})

    def usage(self, turn: TurnOutcome) -> str:
        """The final usage chunk (empty `choices`)."""
        return self._dump({"choices": [], "usage": usage_of(turn).model_dump()})

    def _dump(self, body: dict[str, Any]) -> str:
        head = {"id": self.id, "object": "chat.completion.chunk", "created": self.created}
        extra = {"usage": None} if self.include_usage and "usage" not in body else {}
        return json.dumps({**head, "model": self.model, **body, **extra}, ensure_ascii=False)


def delta_chunk(writer: ChunkWriter, event: dict[str, Any]) -> str | None:
    """A content or reasoning delta (reasoning under both field names), or a server tool
    event under `delta.tool_activity` when the client asked for them."""
    if event.get("kind") in ACTIVITY_KINDS:
        return (
            writer.chunk({"tool_activity": public_activity(event)})
            if writer.tool_activity
            else None
        )
    text = event.get("text")
    if not text:
        return None
    if event.get("kind") == "reasoning":
        return writer.chunk({"reasoning_content": text, "reasoning": text})
    return writer.chunk({"content": text})


def tool_call_chunks(writer: ChunkWriter, calls: list[dict[str, Any]]) -> list[str]:
    """Each client tool call: index, id and name first, then its arguments."""
    chunks = []
    for index, call in enumerate(calls):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        chunks.append(writer.chunk({"tool_calls": [head]}))
        args = {"index": index, "function": {"arguments": call["function"]["arguments"]}}
        chunks.append(writer.chunk({"tool_calls": [args]}))
    return chunks


async def sse_events(
    events: AsyncIterator[tuple[str, Any]],
    writer: ChunkWriter,
    start_index: int,
    cleanup: AsyncExitStack,
) -> AsyncIterator[str]:
    """SSE data lines for a running turn; errors are sent in-band; always ends with [DONE]."""
    try:
        yield writer.chunk({"role": "assistant", "content": ""})
        values: dict[str, Any] = {}
        approvals: list[dict[str, Any]] = []
        async for mode, data in events:
            if mode == "values":
                values = data
            elif mode == APPROVALS:
                approvals = data
            elif (text := delta_chunk(writer, data)) is not None:
                yield text
        turn = turn_outcome(values, start_index, approvals)
        note(tokens=usage_of(turn).total_tokens)
        for text in tool_call_chunks(writer, turn.tool_calls):
            yield text
        yield writer.chunk({}, turn.finish_reason)
        if writer.include_usage:
            yield writer.usage(turn)
    except AgentError as exc:
        yield json.dumps(agent_error_body(exc))
    except Exception as exc:
        logger.exception("stream failed")
        yield json.dumps(error_body(f"Internal error ({type(exc).__name__})", "server_error"))
    finally:
        await cleanup.aclose()
    yield "[DONE]"
