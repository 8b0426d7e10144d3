"""The ways of getting one reply with tool calls out of the upstream (TOOL_CALL_MODE).

* native: send `tools`, take the server's `tool_calls`, sanitise them, and recover calls
  or markup left in `content` / `reasoning` (this is also `auto`).
* harmony: render the harmony prompt ourselves, call `/v1/completions` with special
  tokens kept, parse the raw text.
* prompt: describe the tools in the system prompt (Hermes format), parse the reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from agent.autostream import AutoStream
from agent.dialects import Delta, get_dialect
from agent.harmony_prompt import HarmonyOptions, render_harmony_prompt
from agent.hermes_prompt import render_hermes_messages
from agent.messages import REASONING, content_text, to_openai
from agent.model import ReasoningChatOpenAI
from agent.toolcalls import InvalidCall, ToolCall, resolve_calls, sanitize_native, tool_functions

OnDelta = Callable[[str, str], None]
HARMONY_STOP = ["<|call|>", "<|return|>"]


@dataclass
class RawReply:
    """One upstream reply, cleaned; calls are resolved against the offered tools."""

    content: str = ""
    reasoning: str = ""
    calls: list[ToolCall | InvalidCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)


def emit(delta: Delta, on_delta: OnDelta) -> None:
    """Pass a parser delta's visible text on (calls are emitted once checked)."""
    if delta.reasoning:
        on_delta("reasoning", delta.reasoning)
    if delta.content:
        on_delta("content", delta.content)


def _usage(message: AIMessage) -> dict[str, int]:
    usage = message.usage_metadata or {}
    return {
        "prompt_tokens": usage.get("input_tokens", 0),
        "completion_tokens": usage.get("output_tokens", 0),
    }


def _finish(message: AIMessage) -> str:
    return "length" if message.response_metadata.get("finish_reason") == "length" else "stop"


async def native_reply(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
    *,
    recover_from_text: bool = True,
) -> RawReply:
    """Native tool calling; names and arguments are always sanitised. With
    `recover_from_text` (auto mode) calls and markup left in content/reasoning are
    recovered too; without it (native mode) the text is passed through as sent."""
    bind = options.pop("bind", {})
    model: Any = llm.bind_tools(tools, **bind) if tools else llm
    names = list(tool_functions(tools)) if recover_from_text else None
    if options.pop("stream"):
        message = await _stream_native(model, messages, options, names, on_delta)
    else:
        message = await model.ainvoke(messages, **options)
    text = {
        "content": content_text(message.content),
        REASONING: message.additional_kwargs.get(REASONING, ""),
    }
    raw = {**text, "tool_calls": native_calls(message)}
    clean = sanitize_native(raw if recover_from_text else {"tool_calls": raw["tool_calls"]}, tools)
    content = clean.content if recover_from_text else text["content"]
    reasoning = clean.reasoning if recover_from_text else text[REASONING]
    return RawReply(
        content or "", reasoning or "", clean.tool_calls, _finish(message), _usage(message)
    )


async def _stream_native(
    model: Any,
    messages: list[BaseMessage],
    options: dict[str, Any],
    names: list[str] | None,
    on_delta: OnDelta,
) -> AIMessage:
    """Stream upstream deltas on; content goes through AutoStream unless `names` is None."""
    content = AutoStream(names) if names is not None else None
    merged: AIMessageChunk | None = None
    async for chunk in model.astream(messages, **options):
        if reasoning := chunk.additional_kwargs.get(REASONING):
            on_delta("reasoning", reasoning)
        text = content_text(chunk.content)
        if content is None:
            if text:
                on_delta("content", text)
        else:
            emit(content.feed(text), on_delta)
        merged = chunk if merged is None else merged + chunk
    if content is not None:
        emit(content.close(), on_delta)
    return merged or AIMessageChunk(content="")


def native_calls(message: AIMessage) -> list[dict[str, Any]]:
    """The server's tool calls as OpenAI dicts, arguments as the text it sent."""
    calls = []
    if isinstance(message, AIMessageChunk) and message.tool_call_chunks:
        for chunk in message.tool_call_chunks:
            calls.append(_raw(chunk.get("id"), chunk.get("name"), chunk.get("args") or ""))
        return calls
    for call in message.tool_calls:
        calls.append(_raw(call.get("id"), call["name"], json.dumps(call["args"])))
    for call in message.invalid_tool_calls:
        calls.append(_raw(call.get("id"), call.get("name"), call.get("args") or ""))
    return calls


def _raw(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    function = {"name": name or "", "arguments": arguments}
    return {"id": call_id, "type": "function", "function": function}


async def harmony_reply(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> RawReply:
    """Render harmony ourselves and complete it with special tokens kept."""
    effort = options.get("reasoning_effort") or "medium"
    prompt = render_harmony_prompt(
        [to_openai(m) for m in messages], tools, HarmonyOptions(reasoning_effort=effort)
    )
    request = {
        "model": options.get("model") or llm.model_name,
        "prompt": prompt,
        "stop": HARMONY_STOP + list(options.get("stop") or []),
        "extra_body": {"skip_special_tokens": False},
        **{k: options[k] for k in ("temperature", "top_p", "max_tokens") if k in options},
    }
    parser = get_dialect("harmony").stream(list(tool_functions(tools)))
    usage: dict[str, int] = {}
    finish = "stop"
    if options.get("stream"):
        completion = await llm.root_async_client.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in completion:
            if chunk.choices:
                emit(parser.feed(chunk.choices[0].text or ""), on_delta)
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage:
                usage = _completion_usage(chunk.usage)
        emit(parser.close(), on_delta)
    else:
        completion = await llm.root_async_client.completions.create(**request)
        parser.feed(completion.choices[0].text or "")
        parser.close()
        finish = completion.choices[0].finish_reason or finish
        usage = _completion_usage(completion.usage)
    return _reply_from_parse(parser.result(), tools, finish, usage)


def _completion_usage(usage: Any) -> dict[str, int]:
    if usage is None:
        return {}
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}


def _reply_from_parse(
    parsed: Any, tools: Sequence[Any], finish: str | None, usage: dict[str, int]
) -> RawReply:
    return RawReply(
        parsed.content or "",
        parsed.reasoning or "",
        resolve_calls(parsed.calls, tools),
        "length" if finish == "length" else "stop",
        usage,
    )


async def prompt_reply(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> RawReply:
    """Tools described in the system prompt (Hermes format); the reply parsed as text."""
    plain = render_hermes_messages([to_openai(m) for m in messages], tools)
    names = list(tool_functions(tools))
    options.pop("bind", None)
    stream = options.pop("stream")
    parser = get_dialect("hermes").stream(names)
    if stream:
        merged: AIMessageChunk | None = None
        async for chunk in llm.astream(plain, **options):
            if reasoning := chunk.additional_kwargs.get(REASONING):
                on_delta("reasoning", reasoning)
            emit(parser.feed(content_text(chunk.content)), on_delta)
            merged = chunk if merged is None else merged + chunk
        emit(parser.close(), on_delta)
        message: AIMessage = merged or AIMessageChunk(content="")
    else:
        message = await llm.ainvoke(plain, **options)
        parser.feed(content_text(message.content))
        parser.close()
    reply = _reply_from_parse(parser.result(), tools, _finish(message), _usage(message))
    native_reasoning = message.additional_kwargs.get(REASONING, "")
    reply.reasoning = "\n".join(r for r in (native_reasoning, reply.reasoning) if r)
    return reply
