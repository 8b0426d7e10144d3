"""A turn as a chat completion: the response body (`chat.completion`), or streamed, its
`chat.completion.chunk` SSE events from the turn's events (api/turns.py)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from agent.errors import AgentError
from api.errors import agent_error_body, error_body
from api.logs import note
from api.protocol import (
    ChatCompletionResponse,
    Choice,
    ResponseMessage,
    ToolCall,
    Usage,
    new_completion_id,
)
from api.sse import sse_frame
from api.turns import Activity, Delta, Done, TurnEvent
from graph.turn import TurnOutcome

logger = logging.getLogger(__name__)


def usage_of(outcome: TurnOutcome) -> Usage:
    """OpenAI usage from the turn's summed token counts."""
    prompt = outcome.usage.get("prompt_tokens", 0)
    completion = outcome.usage.get("completion_tokens", 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        context_trimmed_messages=outcome.trimmed_messages,
    )


def public_activity(event: dict[str, Any]) -> dict[str, Any]:
    """A server tool event as clients see it: `type` is `started` or `finished`."""
    fields = {key: value for key, value in event.items() if key != "kind"}
    return {"type": event["kind"].removeprefix("tool_"), **fields}


def chat_annotations(outcome: TurnOutcome) -> list[dict[str, Any]]:
    """The turn's citations as Chat Completions shapes them (the link fields nested)."""
    return [
        {"type": "url_citation", "url_citation": {k: v for k, v in note.items() if k != "type"}}
        for note in outcome.annotations
    ]


def completion_response(
    outcome: TurnOutcome, model: str, activity: list[dict[str, Any]] | None = None
) -> ChatCompletionResponse:
    """A `chat.completion` object for a finished turn; `activity` (server tool events) only
    when the client asked for it."""
    message = ResponseMessage(
        content=outcome.content,
        reasoning_content=outcome.reasoning,
        reasoning=outcome.reasoning,
        tool_calls=[ToolCall.model_validate(c) for c in outcome.tool_calls] or None,
        tool_activity=None if activity is None else [public_activity(e) for e in activity],
        annotations=chat_annotations(outcome) or None,
    )
    choice = Choice(message=message, finish_reason=outcome.finish_reason)
    return ChatCompletionResponse(model=model, choices=[choice], usage=usage_of(outcome))


class ChunkWriter:
    """Builds chunks that share one id and `created`, as OpenAI clients expect. A text delta's
    chunk is its pre-rendered head and tail around the quoted text (the same JSON
    `chunk` would write): the hot path renders only the text."""

    def __init__(self, model: str, include_usage: bool, tool_activity: bool = False) -> None:
        self.id = new_completion_id()
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.tool_activity = tool_activity
        head = json.dumps(self._head(), ensure_ascii=False)[:-1]
        self._delta_open = f'data: {head}, "choices": [{{"index": 0, "delta": {{"'.encode()
        close = '}, "logprobs": null, "finish_reason": null}]'
        self._delta_close = (close + (', "usage": null}' if include_usage else "}")).encode()

    def text(self, field: str, text: str) -> bytes:
        """A chunk whose delta is `{field: text}` (text parsed by orjson: no lone surrogate)."""
        quoted = orjson.dumps(text)
        parts = (self._delta_open, field.encode(), b'": ', quoted, self._delta_close, b"\n\n")
        return b"".join(parts)

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """One chunk with a single choice."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._dump({"choices": [choice]})

    def usage(self, turn: TurnOutcome) -> bytes:
        """The final usage chunk (empty `choices`)."""
        return self._dump({"choices": [], "usage": usage_of(turn).model_dump()})

    def _head(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }

    def _dump(self, body: dict[str, Any]) -> bytes:
        extra = {"usage": None} if self.include_usage and "usage" not in body else {}
        return sse_frame(json.dumps({**self._head(), **body, **extra}, ensure_ascii=False))


def delta_chunk(writer: ChunkWriter, event: Delta | Activity) -> bytes | None:
    """A content or reasoning delta (reasoning under both field names), or a server tool
    event under `delta.tool_activity` when the client asked for them."""
    if type(event) is Delta:
        if not event.text:
            return None
        if event.kind == "content":
            return writer.text("content", event.text)
        return writer.chunk({"reasoning_content": event.text, "reasoning": event.text})
    if writer.tool_activity:
        return writer.chunk({"tool_activity": public_activity(event.event)})
    return None


def tool_call_chunks(writer: ChunkWriter, calls: list[dict[str, Any]]) -> list[bytes]:
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


async def sse_events(events: AsyncIterator[TurnEvent], writer: ChunkWriter) -> AsyncIterator[bytes]:
    """The SSE events of a running turn (api/turns.py); errors are sent in-band; always ends
    with [DONE]. Closing this closes the turn's events (the turn is not stored)."""
    try:
        yield writer.chunk({"role": "assistant", "content": ""})
        async for event in events:
            if type(event) is Done:
                for frame in _end_frames(writer, event.outcome):
                    yield frame
            elif (frame := delta_chunk(writer, event)) is not None:  # type: ignore[arg-type]
                yield frame
    except AgentError as exc:
        yield sse_frame(json.dumps(agent_error_body(exc)))
    except Exception as exc:
        logger.exception("stream failed")
        yield sse_frame(
            json.dumps(error_body(f"Internal error ({type(exc).__name__})", "server_error"))
        )
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    yield sse_frame("[DONE]")


def _end_frames(writer: ChunkWriter, turn: TurnOutcome) -> list[bytes]:
    """Citations, the client's tool calls, the finish reason and the usage."""
    note(tokens=usage_of(turn).total_tokens)
    frames = []
    if turn.annotations:
        frames.append(writer.chunk({"annotations": chat_annotations(turn)}))
    frames += tool_call_chunks(writer, turn.tool_calls)
    frames.append(writer.chunk({}, turn.finish_reason))
    if writer.include_usage:
        frames.append(writer.usage(turn))
    return frames
