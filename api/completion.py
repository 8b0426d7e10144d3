"""The non-streaming response."""

from __future__ import annotations

from typing import Any

from api.protocol import ChatCompletionResponse, Choice, ResponseMessage, ToolCall, Usage
from graph.turn import TurnOutcome


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
