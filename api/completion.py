"""The non-streaming response."""

from __future__ import annotations

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


def completion_response(outcome: TurnOutcome, model: str) -> ChatCompletionResponse:
    """A `chat.completion` object for a finished turn."""
    message = ResponseMessage(
        content=outcome.content,
        reasoning_content=outcome.reasoning,
        reasoning=outcome.reasoning,
        tool_calls=[ToolCall.model_validate(c) for c in outcome.tool_calls] or None,
    )
    choice = Choice(message=message, finish_reason=outcome.finish_reason)
    return ChatCompletionResponse(model=model, choices=[choice], usage=usage_of(outcome))
