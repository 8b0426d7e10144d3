"""Which calls of a reply may run a server tool: the call-recognition rule (docs/security.md).

A server tool runs only for a call the model made in the call position of the mode's
dialect (`ToolCall.recovered` is False) that does not repeat, name and arguments, what a
tool result of this turn holds (markup the model quoted from data it read is data). Any
other call of a server tool is not run: it becomes an unusable call, so the model is told
why and may make the call properly (bounded by TOOL_CALL_RETRIES). Calls of client tools
are left alone: the client decides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from agent.llm.step_io import ModelReply
from agent.messages import content_text
from agent.toolcalls import InvalidCall, ToolCall
from graph.prompts import QUOTED_CALL_ERROR, RECOVERED_CALL_ERROR

_SPACE = re.compile(r"\s+")
_NEAR = 200
"""Characters between a quoted call's name and its arguments (harmony headers are longest)."""


def turn_data(messages: Sequence[BaseMessage]) -> list[str]:
    """The tool results the model read in this turn (since the last user message), with
    whitespace removed (see `quotes`)."""
    data: list[str] = []
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage):
            data.append(_SPACE.sub("", content_text(message.content)))
    return data


def server_calls_checked(
    reply: ModelReply, client_names: set[str], history: Sequence[BaseMessage]
) -> ModelReply:
    """The reply with each call of a server tool that may not run made unusable; `history`
    is the session's messages before the reply."""
    if not any(isinstance(c, ToolCall) and c.name not in client_names for c in reply.calls):
        return reply
    data = turn_data(history)
    calls = [_checked(call, client_names, data) for call in reply.calls]
    return replace(reply, calls=calls)


def _checked(
    call: ToolCall | InvalidCall, client_names: set[str], data: Sequence[str]
) -> ToolCall | InvalidCall:
    if not isinstance(call, ToolCall) or call.name in client_names:
        return call
    if call.recovered:
        error = RECOVERED_CALL_ERROR.format(name=call.name, where="reasoning or answer")
    elif quotes(call, data):
        error = QUOTED_CALL_ERROR.format(name=call.name)
    else:
        return call
    return InvalidCall(call.name, call.arguments_json(), error, call.id, call.arguments)


def quotes(call: ToolCall, data: Sequence[str]) -> bool:
    """Whether some tool result holds this call: its name, and its arguments as JSON near
    it, whitespace ignored (the markup of every dialect puts them within a few words)."""
    name = _SPACE.sub("", call.name)
    arguments = _SPACE.sub("", json.dumps(call.arguments, ensure_ascii=False))
    for text in data:
        at = text.find(name)
        while at >= 0:
            start = max(0, at - _NEAR - len(arguments))
            if arguments in text[start : at + len(name) + _NEAR + len(arguments)]:
                return True
            at = text.find(name, at + 1)
    return False
