"""OpenAI chat messages <-> LangChain messages, keeping reasoning and tool-call ids."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import compress, count
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

REASONING = "reasoning"
SERVER_SIDE = "server_side"
"""Marks a tool message the agent produced itself: the client never saw it or its call."""


def positions_of(messages: Sequence[BaseMessage], kind: type[BaseMessage]) -> list[int]:
    """Indexes of the messages that are `kind`s. This runs over every stored message of
    every turn: the subclass test is made once per distinct type and the scan runs in C."""
    kinds = frozenset(t for t in set(map(type, messages)) if issubclass(t, kind))
    if not kinds:
        return []
    return list(compress(count(), map(kinds.__contains__, map(type, messages))))


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a parts array."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"):
            parts.append(str(part.get("text", "")))
    return "".join(parts)


def _arguments_dict(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except (TypeError, json.JSONDecodeError):
        return {"__raw__": str(arguments)}
    return value if isinstance(value, dict) else {"__raw__": str(arguments)}


def _user_content(content: Any) -> Any:
    """Strings stay strings; parts arrays keep only what LangChain understands."""
    if content is None or isinstance(content, str):
        return content or ""
    kept = [p for p in content if isinstance(p, dict) and p.get("type") in ("text", "image_url")]
    return kept if any(p.get("type") == "image_url" for p in kept) else content_text(kept)


def to_langchain(message: dict[str, Any]) -> BaseMessage:
    """One OpenAI request message as a LangChain message (system/developer included)."""
    role = message["role"]
    if role in ("system", "developer"):
        return SystemMessage(content=content_text(message.get("content")))
    if role == "user":
        return HumanMessage(content=_user_content(message.get("content")))
    if role == "tool":
        return ToolMessage(
            content=content_text(message.get("content")),
            tool_call_id=message.get("tool_call_id") or "",
        )
    calls = [
        {
            "id": call.get("id"),
            "name": call["function"]["name"],
            "args": _arguments_dict(call["function"].get("arguments")),
        }
        for call in message.get("tool_calls") or []
    ]
    extra = {}
    reasoning = message.get(REASONING) or message.get("reasoning_content")
    if reasoning:
        extra[REASONING] = reasoning
    return AIMessage(
        content=content_text(message.get("content")), tool_calls=calls, additional_kwargs=extra
    )


def tool_call_to_openai(call: dict[str, Any]) -> dict[str, Any]:
    """A LangChain tool call as an OpenAI `tool_calls` item (arguments as a JSON string)."""
    args = call.get("args") or {}
    arguments = args["__raw__"] if set(args) == {"__raw__"} else json.dumps(args)
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": call["name"], "arguments": arguments},
    }


def to_openai(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as an OpenAI chat message (reasoning kept on assistants)."""
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": content_text(message.content)}
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, ToolMessage):
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": content_text(message.content),
        }
    out: dict[str, Any] = {"role": "assistant", "content": content_text(message.content) or None}
    if isinstance(message, AIMessage) and message.tool_calls:
        out["tool_calls"] = [tool_call_to_openai(dict(c)) for c in message.tool_calls]
    reasoning = message.additional_kwargs.get(REASONING)
    if reasoning:
        out[REASONING] = reasoning
        out["reasoning_content"] = reasoning
    return out


def reasoning_of(message: BaseMessage) -> str | None:
    """The reasoning stored on an assistant message, if any."""
    return message.additional_kwargs.get(REASONING) or None


def fingerprint(message: BaseMessage) -> tuple[Any, ...]:
    """What identifies a message when a client resends history (ids and reasoning ignored)."""
    if isinstance(message, AIMessage):
        calls = tuple(
            (c["name"], json.dumps(c.get("args") or {}, sort_keys=True)) for c in message.tool_calls
        )
        return ("assistant", content_text(message.content).strip(), calls)
    if isinstance(message, ToolMessage):
        return ("tool", message.tool_call_id, content_text(message.content).strip())
    if isinstance(message, HumanMessage):
        content = message.content
        key = content_text(content) if isinstance(content, str) else json.dumps(content)
        return ("user", key.strip())
    return ("system", content_text(message.content).strip())


def server_tool_message(call: dict[str, Any], content: str, status: str = "success") -> ToolMessage:
    """The result of a call the agent answered itself (a server tool, or an error)."""
    return ToolMessage(
        content=content,
        tool_call_id=call["id"],
        name=call["name"],
        status=status,
        additional_kwargs={SERVER_SIDE: True},
    )


def client_view(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The history as the client saw it: each run of assistant steps folded into one
    assistant message (contents joined by a blank line, as a response shows them), without
    the calls the agent answered itself or their results."""
    hidden = {
        m.tool_call_id
        for m in messages
        if isinstance(m, ToolMessage) and m.additional_kwargs.get(SERVER_SIDE)
    }
    view: list[BaseMessage] = []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, AIMessage):
            texts += [content_text(message.content)] if content_text(message.content) else []
            calls += [c for c in message.tool_calls if c["id"] not in hidden]
            continue
        if isinstance(message, ToolMessage) and message.tool_call_id in hidden:
            continue
        _flush(view, texts, calls)
        view.append(message)
    _flush(view, texts, calls)
    return view


def _flush(view: list[BaseMessage], texts: list[str], calls: list[dict[str, Any]]) -> None:
    if texts or calls:
        view.append(AIMessage(content="\n\n".join(texts), tool_calls=list(calls)))
    texts.clear()
    calls.clear()
