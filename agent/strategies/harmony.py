"""`harmony` mode: our own harmony prompt, completed raw through `/v1/completions`."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from agent.messages import to_openai
from agent.model import ReasoningChatOpenAI
from agent.parsing import ReplyParser
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt
from agent.reply import ModelReply
from agent.strategies.base import OnDelta, emit, reply_from
from agent.toolcalls import tool_functions

HARMONY_STOP = ["<|call|>", "<|return|>"]


def completion_request(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
) -> dict[str, Any]:
    """The `/v1/completions` request: rendered prompt, special tokens kept, harmony stops."""
    effort = options.get("reasoning_effort") or "medium"
    prompt = render_harmony_prompt(
        [to_openai(m) for m in messages], tools, HarmonyOptions(reasoning_effort=effort)
    )
    sampling = {k: options[k] for k in ("temperature", "top_p", "max_tokens") if k in options}
    return {
        "model": options.get("model") or llm.model_name,
        "prompt": prompt,
        "stop": HARMONY_STOP + list(options.get("stop") or []),
        "extra_body": {"skip_special_tokens": False},
        **sampling,
    }


async def harmony_reply(
    llm: ReasoningChatOpenAI,
    messages: list[BaseMessage],
    tools: list[dict[str, Any]],
    options: dict[str, Any],
    on_delta: OnDelta,
) -> ModelReply:
    """Render harmony ourselves, complete it with special tokens kept, parse the text."""
    request = completion_request(llm, messages, tools, options)
    parser = ReplyParser(list(tool_functions(tools)), dialect="harmony", reasoning_dialect=None)
    client = llm.root_async_client
    finish: str | None = None
    usage: dict[str, int] = {}
    if options.get("stream"):
        stream = await client.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.choices:
                emit(parser.content(chunk.choices[0].text or ""), on_delta)
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage:
                usage = _usage(chunk.usage)
    else:
        completion = await client.completions.create(**request)
        choice = completion.choices[0] if completion.choices else None
        emit(parser.content(choice.text or "" if choice else ""), on_delta)
        finish, usage = (choice.finish_reason if choice else None), _usage(completion.usage)
    emit(parser.close(), on_delta)
    return reply_from(parser, [], tools, finish, usage)


def _usage(usage: Any) -> dict[str, int]:
    if usage is None:
        return {}
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
