"""Access to the upstream model server through `ChatOpenAI`, keeping gpt-oss reasoning.

`ChatOpenAI` drops the non-standard `reasoning` / `reasoning_content` fields that vLLM,
Ollama and llama.cpp return, and never sends them back. gpt-oss needs its chain of
thought between tool calls, so this subclass keeps reasoning in
`additional_kwargs["reasoning"]` and writes it back into assistant messages upstream.
"""

from __future__ import annotations

import json
from typing import Any

import openai
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from agent.backend_config import BackendSpec, single_backend
from agent.messages import REASONING
from agent.settings import Settings, UpstreamKind

NO_STREAM_TAG = "nostream"
"""langgraph.constants.TAG_NOSTREAM: keeps a model's chunks out of "messages" streams."""
NATIVE_CALLS = "native_tool_calls"
"""additional_kwargs key of a full response's tool calls as the server sent them, in order."""

# Where each kind of server reads the reasoning of an earlier assistant turn.
REASONING_INPUT_FIELD = {
    UpstreamKind.VLLM: "reasoning",
    UpstreamKind.OLLAMA: "reasoning",
    UpstreamKind.LLAMACPP: "reasoning_content",
    UpstreamKind.OPENAI: "reasoning",
}


def reasoning_from(fields: dict[str, Any] | None) -> str:
    """Reasoning text of a response message or stream delta, under either field name."""
    if not fields:
        return ""
    return fields.get("reasoning") or fields.get("reasoning_content") or ""


def _raw_calls(message: Any) -> list[dict[str, Any]]:
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    return [dict(c) for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _take_non_object_calls(message: Any) -> list[dict[str, Any]]:
    """Remove the tool calls whose arguments are JSON but not an object (`[{...}]`, `"x"`):
    LangChain would parse them into `args` and fail on its dict check (a 500). They are
    kept as invalid tool calls, raw arguments intact, for the sanitiser to repair."""
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    if not isinstance(calls, list):
        return []
    aside = [call for call in calls if _non_object_arguments(call)]
    if aside:
        message["tool_calls"] = [call for call in calls if call not in aside]
    return aside


def _non_object_arguments(call: Any) -> bool:
    function = call.get("function") if isinstance(call, dict) else None
    arguments = function.get("arguments") if isinstance(function, dict) else None
    if not isinstance(arguments, str) or not arguments:
        return False
    try:
        return not isinstance(json.loads(arguments, strict=False), dict)
    except ValueError:
        return False


def _keep_stop_reason(message: Any, choice: dict[str, Any]) -> None:
    """vLLM's `stop_reason`: the stop token or string that ended the reply."""
    if choice.get("stop_reason") is not None:
        message.response_metadata["stop_reason"] = choice["stop_reason"]


class ReasoningChatOpenAI(ChatOpenAI):
    """`ChatOpenAI` that keeps `reasoning` from responses and sends it back upstream."""

    reasoning_input_field: str = "reasoning"
    upstream_kind: UpstreamKind = UpstreamKind.VLLM

    def _create_chat_result(
        self, response: dict | openai.BaseModel, generation_info: dict | None = None
    ) -> ChatResult:
        data = response if isinstance(response, dict) else response.model_dump()
        choices = data.get("choices") or []
        sent = [_raw_calls(choice.get("message")) for choice in choices]
        aside = [_take_non_object_calls(choice.get("message")) for choice in choices]
        result = super()._create_chat_result(data if any(aside) else response, generation_info)
        for generation, choice, calls, raw in zip(
            result.generations, choices, aside, sent, strict=False
        ):
            reasoning = reasoning_from(choice.get("message"))
            if reasoning:
                generation.message.additional_kwargs[REASONING] = reasoning
            _keep_stop_reason(generation.message, choice)
            if raw:  # LangChain splits valid and invalid calls, losing the model's order
                generation.message.additional_kwargs[NATIVE_CALLS] = raw
            if calls and isinstance(generation.message, AIMessage):
                generation.message.invalid_tool_calls += [
                    make_invalid_tool_call(call, "arguments are not a JSON object")
                    for call in calls
                ]
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        choices = chunk.get("choices") or []
        if generation is not None and choices:
            reasoning = reasoning_from(choices[0].get("delta"))
            if reasoning:
                generation.message.additional_kwargs[REASONING] = reasoning
            _keep_stop_reason(generation.message, choices[0])
        return generation

    def _get_request_payload(
        self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "max_completion_tokens" in payload:  # every OpenAI-compatible server reads max_tokens
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        messages: list[BaseMessage] = self._convert_input(input_).to_messages()
        for message, sent in zip(messages, payload.get("messages", []), strict=False):
            reasoning = message.additional_kwargs.get(REASONING)
            if isinstance(message, AIMessage) and reasoning:
                sent[self.reasoning_input_field] = reasoning
        return payload


def make_chat_model(
    settings: Settings, backend: BackendSpec | None = None, max_retries: int | None = None
) -> ReasoningChatOpenAI:
    """A chat model client for one backend (default: LLM_BASE_URL), serving its first model;
    the SDK retries a failed call `max_retries` times (default LLM_MAX_RETRIES)."""
    backend = backend or single_backend(settings)
    key = backend.api_key.get_secret_value() if backend.api_key else "not-needed"
    return ReasoningChatOpenAI(
        model=backend.models[0],
        base_url=backend.base_url,
        api_key=key,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries if max_retries is None else max_retries,
        stream_usage=True,
        reasoning_input_field=REASONING_INPUT_FIELD[backend.server],
        upstream_kind=backend.server,
        # LangGraph's "messages" stream mode (Studio's chat view) would show the upstream's
        # raw chunks, markup included; it shows the cleaned reply each step stores instead.
        tags=[NO_STREAM_TAG],
    )
