"""The OpenAI wire format as plain dicts: request bodies built straight from the stored
messages, and the fields of a reply read and checked without building objects per chunk.

gpt-oss needs its chain of thought between tool calls: reasoning is read from either
`reasoning` or `reasoning_content`, and sent back in the field the server reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

from agent.llm.failures import UpstreamMalformed
from agent.messages import REASONING, content_text, to_openai
from agent.prefix_memo import PrefixMemo
from agent.prompts.neutral import neutral
from agent.settings import UpstreamKind

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
    text = fields.get("reasoning") or fields.get("reasoning_content") or ""
    if not isinstance(text, str):
        raise UpstreamMalformed(f"reasoning is {type(text).__name__}, not a string")
    return text


WIRE_FORMS_KEPT = 100_000
"""Messages whose wire form is kept (agent/prefix_memo.py), per reasoning field."""
_wire_forms: dict[str, PrefixMemo[BaseMessage, dict[str, Any]]] = {}


def chat_messages(messages: Sequence[BaseMessage], reasoning_field: str) -> list[dict[str, Any]]:
    """Messages as the chat endpoint takes them, reasoning in `reasoning_field`. A stored
    message's dict is worked out once and shared by every request that sends it: it is
    only ever encoded, never changed. The instructions in front are made anew for every
    call, so the history's forms are kept by the history's first message."""
    head = 0
    while head < len(messages) and isinstance(messages[head], SystemMessage):
        head += 1
    memo = _wire_forms.get(reasoning_field)
    if memo is None:
        work_out = partial(_chat_message, reasoning_field=reasoning_field)
        memo = _wire_forms[reasoning_field] = PrefixMemo(work_out, WIRE_FORMS_KEPT)
    instructions = [_chat_message(m, reasoning_field) for m in messages[:head]]
    return instructions + memo.values(messages[head:])


def _chat_message(message: BaseMessage, reasoning_field: str) -> dict[str, Any]:
    sent = to_openai(message)
    reasoning = sent.pop(REASONING, None)
    sent.pop("reasoning_content", None)
    if reasoning:
        sent[reasoning_field] = reasoning
    if sent["content"] is None and not sent.get("tool_calls"):
        sent["content"] = ""  # null content is for an assistant message with calls only
    if sent["role"] == "tool":  # data from outside: the server's template must not read markup
        sent["content"] = neutral(sent["content"])
    return sent


def request_body(
    model: str, options: dict[str, Any], stream: bool, **fields: Any
) -> dict[str, Any]:
    """A request: the sampling options (`extra_body` merged in, `max_completion_tokens`
    sent as the `max_tokens` every OpenAI-compatible server reads), `fields`, and usage
    asked for at the end of a stream."""
    body = {key: value for key, value in options.items() if key != "extra_body"}
    body["model"] = options.get("model") or model
    if "max_completion_tokens" in body:
        body["max_tokens"] = body.pop("max_completion_tokens")
    body.update(fields)
    body.update(options.get("extra_body") or {})
    body["stream"] = stream
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def first_choice(reply: dict[str, Any]) -> dict[str, Any] | None:
    """The first of a reply's (or stream event's) `choices`, if it has any."""
    choices = reply.get("choices")
    if not choices:
        return None
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise UpstreamMalformed(f"choices is not a list of objects: {str(choices)[:200]}")
    return choices[0]


def object_field(container: dict[str, Any], name: str) -> dict[str, Any]:
    """A field that must be an object when present (`message`, `delta`)."""
    value = container.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UpstreamMalformed(f"{name} is {type(value).__name__}, not an object")
    return value


def text_field(container: dict[str, Any], name: str) -> str:
    """A text field (`content`, `text`): a string, a list of text parts, or absent."""
    value = container.get(name)
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, list):
        return content_text(value)
    raise UpstreamMalformed(f"{name} is {type(value).__name__}, not text")


def list_field(container: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A list of objects (`tool_calls`); items that are not objects are left out."""
    value = container.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UpstreamMalformed(f"{name} is {type(value).__name__}, not a list")
    return [item for item in value if isinstance(item, dict)]


def usage_of(reply: dict[str, Any]) -> dict[str, int]:
    """The token counts of a reply (or of a stream's final event); zeros when absent."""
    usage = reply.get("usage") or {}
    if not isinstance(usage, dict):
        raise UpstreamMalformed(f"usage is {type(usage).__name__}, not an object")
    return {
        "prompt_tokens": usage.get("prompt_tokens") or 0,
        "completion_tokens": usage.get("completion_tokens") or 0,
    }
