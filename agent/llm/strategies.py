"""The ways of getting one reply with tool calls out of the upstream (TOOL_CALL_MODE).

* auto: send `tools`, take the server's `tool_calls`, clean them, and recover calls or
  markup left in `content` / reasoning with the auto parser.
* native: the same, but the server's text is passed on as sent.
* harmony: render the harmony prompt ourselves, call `/v1/completions` with special
  tokens kept, parse the raw text.
* prompt: describe the tools in the system prompt (Hermes format), parse the reply.

`strategy_for` is the one place that maps a mode to its strategy.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from agent.llm.chat_completion import ChatAnswer, add_text, chat_answer, reply_from
from agent.llm.http import ModelServer, post_json, post_stream
from agent.llm.step_io import Deltas, ModelCall, StepItem
from agent.llm.wire import chat_messages, first_choice, request_body, text_field, usage_of
from agent.messages import to_openai
from agent.parsing import CALL_TAG, TOOL_MESSAGE, ReplyParser
from agent.prompts.harmony import HarmonyOptions, render_harmony_prompt
from agent.prompts.hermes import render_hermes_messages
from agent.settings import ToolCallMode
from agent.toolcalls import tail_call_namer, tool_functions


def auto_reply(server: ModelServer, call: ModelCall) -> AsyncIterator[StepItem]:
    """`tools` sent upstream; the server's calls cleaned, and calls or markup left in
    `content` or the reasoning field recovered by the auto parser."""
    json_answer = asks_for_json(call.params)
    parser = ReplyParser(
        list(tool_functions(call.tools)),
        tail_call=None if json_answer else tail_call_namer(call.tools),
        reasoning_opened=call.reasoning_opened,
        json_calls=not json_answer,
        call_positions={TOOL_MESSAGE},  # gpt-oss's own call markup leaked into content
    )
    return _native_tools(server, call, parser)


def asks_for_json(params: dict[str, Any]) -> bool:
    """Whether the client asked for a JSON answer (`response_format`): then a bare JSON
    object in content is that answer, streamed as it comes, not a call written as text."""
    sent = {**params, **(params.get("extra_body") or {})}
    kind = (sent.get("response_format") or {}).get("type")
    return kind in ("json_object", "json_schema")


def native_reply(server: ModelServer, call: ModelCall) -> AsyncIterator[StepItem]:
    """`tools` sent upstream; the server's calls cleaned, its text passed on as sent."""
    parser = ReplyParser(dialect=None, reasoning_dialect=None)
    return _native_tools(server, call, parser)


def prompt_reply(server: ModelServer, call: ModelCall) -> AsyncIterator[StepItem]:
    """No `tools` upstream: the system prompt describes them (gpt-oss's own tools as
    ordinary functions); `<tool_call>` text is parsed."""
    plain = render_hermes_messages([to_openai(m) for m in call.messages], call.tools)
    # auto, not just hermes: a gpt-oss server may still answer in (stripped) harmony
    parser = ReplyParser(
        list(tool_functions(call.tools)),
        reasoning_dialect=None,
        call_positions={CALL_TAG, TOOL_MESSAGE},
    )
    body = request_body(server.model, call.params, call.stream, messages=plain)
    return _chat_reply(server, call, body, parser)


def _native_tools(
    server: ModelServer, call: ModelCall, parser: ReplyParser
) -> AsyncIterator[StepItem]:
    """gpt-oss's own tools are offered as ordinary functions."""
    offered = {"tools": call.tools, **call.bind} if call.tools else {}
    sent = chat_messages(call.messages, server.reasoning_field)
    body = request_body(server.model, call.params, call.stream, messages=sent, **offered)
    return _chat_reply(server, call, body, parser)


async def _chat_reply(
    server: ModelServer, call: ModelCall, body: dict[str, Any], parser: ReplyParser
) -> AsyncIterator[StepItem]:
    """The chat completion's deltas, then its reply (the calls checked against the tools)."""
    async with contextlib.aclosing(chat_answer(server, body, parser)) as items:
        async for item in items:
            if isinstance(item, ChatAnswer):
                native, finish, usage = item.native_calls, item.finish_reason, item.usage
                reply = reply_from(parser, native, call.tools, finish, usage)
                item = replace(reply, stop_reason=item.stop_reason)
            yield item


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


async def harmony_reply(server: ModelServer, call: ModelCall) -> AsyncIterator[StepItem]:
    """Render harmony ourselves, complete it with special tokens kept, parse the text."""
    body = completion_request(server, call)
    parser = ReplyParser(
        list(tool_functions(call.tools)),
        dialect="harmony",
        reasoning_dialect=None,
        call_positions={TOOL_MESSAGE},
    )
    seen: dict[str, Any] = {"finish": None, "usage": usage_of({})}

    def read(events: list[dict[str, Any]]) -> Deltas:
        deltas: Deltas = []
        for event in events:
            choice = first_choice(event)
            if choice is not None:
                add_text(parser.content(text_field(choice, "text")), deltas)
                seen["finish"] = choice.get("finish_reason") or seen["finish"]
            if event.get("usage"):
                seen["usage"] = usage_of(event)
        return deltas

    if body["stream"]:
        async with contextlib.aclosing(post_stream(server, COMPLETIONS_PATH, body)) as reads:
            async for events in reads:
                if deltas := read(events):
                    yield deltas
        deltas = []
    else:
        deltas = read([await post_json(server, COMPLETIONS_PATH, body)])
    add_text(parser.close(), deltas)
    if deltas:
        yield deltas
    yield reply_from(parser, [], call.tools, seen["finish"], seen["usage"])


Strategy = Callable[[ModelServer, ModelCall], AsyncIterator[StepItem]]
"""(server, call) -> the reply's deltas as they come, then the reply."""

_STRATEGIES: dict[ToolCallMode, Strategy] = {
    ToolCallMode.AUTO: auto_reply,
    ToolCallMode.NATIVE: native_reply,
    ToolCallMode.HARMONY: harmony_reply,
    ToolCallMode.PROMPT: prompt_reply,
}


def strategy_for(mode: ToolCallMode) -> Strategy:
    """The strategy that obtains a reply in `mode`."""
    return _STRATEGIES[mode]
