"""`harmony` mode: our own harmony prompt, completed raw through `/v1/completions`."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from agent.messages import to_openai
from agent.model import first_choice, request_body, text_field, usage_of
from agent.parsing import TOOL_MESSAGE, ReplyParser
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt
from agent.reply import ModelReply
from agent.strategies.base import OnDelta, emit, reply_from
from agent.toolcalls import tool_functions
from agent.upstream_http import ModelServer, post_json, post_stream

HARMONY_STOP = ["<|call|>", "<|return|>"]
COMPLETIONS_PATH = "/completions"


def completion_request(
    server: ModelServer,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
) -> dict[str, Any]:
    """The `/v1/completions` request: rendered prompt, special tokens kept, harmony stops."""
    effort = options.get("reasoning_effort") or "medium"
    builtin = frozenset(options.get("builtin_tools") or ())
    prompt = render_harmony_prompt(
        [to_openai(m) for m in messages],
        tools,
        HarmonyOptions(reasoning_effort=effort, builtin=builtin),
    )
    sampling = {
        k: options[k] for k in ("model", "temperature", "top_p", "max_tokens") if k in options
    }
    return request_body(
        server.model,
        sampling,
        bool(options.get("stream")),
        prompt=prompt,
        stop=HARMONY_STOP + list(options.get("stop") or []),
        skip_special_tokens=False,
    )


async def harmony_reply(
    server: ModelServer,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> ModelReply:
    """Render harmony ourselves, complete it with special tokens kept, parse the text."""
    body = completion_request(server, messages, tools, options)
    parser = ReplyParser(
        list(tool_functions(tools)),
        dialect="harmony",
        reasoning_dialect=None,
        call_positions={TOOL_MESSAGE},
    )
    seen: dict[str, Any] = {"finish": None, "usage": usage_of({})}

    def on_event(event: dict[str, Any]) -> None:
        choice = first_choice(event)
        if choice is not None:
            emit(parser.content(text_field(choice, "text")), on_delta)
            seen["finish"] = choice.get("finish_reason") or seen["finish"]
        if event.get("usage"):
            seen["usage"] = usage_of(event)

    if body["stream"]:
        await post_stream(server, COMPLETIONS_PATH, body, on_event)
    else:
        on_event(await post_json(server, COMPLETIONS_PATH, body))
    emit(parser.close(), on_delta)
    return reply_from(parser, [], tools, seen["finish"], seen["usage"])
