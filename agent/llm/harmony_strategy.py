"""`harmony` mode: our own harmony prompt, completed raw through `/v1/completions`."""

from __future__ import annotations

from typing import Any

from agent.llm.call import ModelCall, OnDelta
from agent.llm.chat_completion import emit, reply_from
from agent.llm.http import ModelServer, post_json, post_stream
from agent.llm.reply import ModelReply
from agent.llm.wire import first_choice, request_body, text_field, usage_of
from agent.messages import to_openai
from agent.parsing import TOOL_MESSAGE, ReplyParser
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt
from agent.toolcalls import tool_functions

HARMONY_STOP = ["<|call|>", "<|return|>"]
COMPLETIONS_PATH = "/completions"


def completion_request(server: ModelServer, call: ModelCall) -> dict[str, Any]:
    """The `/v1/completions` request: rendered prompt, special tokens kept, harmony stops."""
    params = call.params
    effort = params.get("reasoning_effort") or "medium"
    prompt = render_harmony_prompt(
        [to_openai(m) for m in call.messages],
        call.tools,
        HarmonyOptions(reasoning_effort=effort, builtin=call.builtin_tools),
    )
    sampling = {
        k: params[k] for k in ("model", "temperature", "top_p", "max_tokens") if k in params
    }
    return request_body(
        server.model,
        sampling,
        call.stream,
        prompt=prompt,
        stop=HARMONY_STOP + list(params.get("stop") or []),
        skip_special_tokens=False,
    )


async def harmony_reply(server: ModelServer, call: ModelCall, on_delta: OnDelta) -> ModelReply:
    """Render harmony ourselves, complete it with special tokens kept, parse the text."""
    body = completion_request(server, call)
    parser = ReplyParser(
        list(tool_functions(call.tools)),
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
    return reply_from(parser, [], call.tools, seen["finish"], seen["usage"])
