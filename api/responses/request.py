"""POST /v1/responses bodies, and their translation into a chat completions request."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from agent.errors import AgentError
from api.protocol import ChatCompletionRequest, OpenAIBaseModel
from api.responses.output import APPROVAL_REQUEST_PREFIX
from graph.approval import APPROVAL_ID_PREFIX
from mcp_tools.request_servers import RequestServer

HOSTED_TOOLS = {
    "code_interpreter": ("python", "python"),
    "web_search": ("browser_search", "browser"),
    "web_search_preview": ("browser_search", "browser"),
}
"""OpenAI's hosted tool types that gpt-oss's own tools answer: (server tool, BUILTIN_TOOLS
name). They are the server's tools, on whenever it offers them; listing one is accepted
when the server has it."""
BUILTIN_TYPES = frozenset(HOSTED_TOOLS)
SERVER_TYPES = BUILTIN_TYPES | {"mcp"}
"""Tool types the server runs (not function tools the client runs)."""


class ResponsesRequest(OpenAIBaseModel):
    """The fields of POST /v1/responses this service acts on."""

    input: str | Annotated[list[dict[str, Any]], Field(min_length=1)]
    model: str | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    previous_response_id: str | None = None
    reasoning: dict[str, Any] | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None
    top_p: float | None = None
    metadata: dict[str, str] | None = None
    store: bool = True
    stream: bool = False
    truncation: Literal["auto", "disabled"] | None = None
    builtin_tools: bool = True
    """This service's extension, as in chat: false leaves gpt-oss's own tools out."""
    background: bool = False
    """Run the turn on the shared queue (graph/store/background_runs.py) and answer at once."""

    def echoed(self) -> dict[str, Any]:
        """The request fields a response object repeats."""
        return {
            "previous_response_id": self.previous_response_id,
            "store": self.store,
            "instructions": self.instructions,
            "tools": self.tools or [],
            "max_output_tokens": self.max_output_tokens,
            "reasoning": self.reasoning,
            "background": self.background,
        }

    def mcp_servers(self) -> list[RequestServer]:
        """The MCP servers named in `tools` (`{"type": "mcp", ...}`), checked for shape."""
        return [
            RequestServer.parse(tool, f"tools[{index}]")
            for index, tool in enumerate(self.tools or [])
            if tool.get("type") == "mcp"
        ]

    def to_chat(self, server_tools: Collection[str] = ()) -> ChatCompletionRequest:
        """The same turn as a chat completions request (400 for what cannot be one, such
        as a hosted tool type whose tool the server does not have among `server_tools`)."""
        for index, tool in enumerate(self.tools or []):
            _check_hosted(tool, server_tools, f"tools[{index}]")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": _messages(self.instructions, self.input),
            "tools": [_tool(t) for t in self.tools or [] if t.get("type") not in SERVER_TYPES]
            or None,
            "tool_choice": _tool_choice(self.tool_choice),
            "parallel_tool_calls": self.parallel_tool_calls,
            "reasoning_effort": (self.reasoning or {}).get("effort"),
            "max_tokens": self.max_output_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "metadata": self.metadata,
            "stream": self.stream,
            "builtin_tools": self.builtin_tools,
        }
        try:
            return ChatCompletionRequest.model_validate(
                {k: v for k, v in body.items() if v is not None}
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = f"{where}: {first['msg']}"
            raise AgentError(message, param=where, code="invalid_request") from exc


def _bad(message: str, param: str) -> AgentError:
    return AgentError(message, param=param, code="invalid_request")


def _messages(instructions: str | None, given: str | list[dict[str, Any]]) -> list[dict]:
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    if isinstance(given, str):
        return [*messages, {"role": "user", "content": given}]
    for index, item in enumerate(given):
        _add_item(messages, item, f"input[{index}]")
    return messages


def _add_item(messages: list[dict[str, Any]], item: dict[str, Any], where: str) -> None:
    kind = item.get("type", "message")
    if kind == "message":
        content = _text(item.get("content"), f"{where}.content")
        messages.append({"role": item.get("role"), "content": content})
    elif kind == "function_call":
        call = {
            "id": item.get("call_id"),
            "type": "function",
            "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"},
        }
        last = messages[-1] if messages else {}
        if last.get("role") == "assistant" and last.get("tool_calls"):
            last["tool_calls"].append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind == "function_call_output":
        output = item.get("output")
        text = output if isinstance(output, str) else json.dumps(output)
        messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
    elif kind == "mcp_approval_response":
        messages.append(_approval_answer(item, where))
    elif kind not in ("reasoning", "mcp_approval_request"):  # the session has those already
        raise _bad(
            f"{where}.type {kind!r} is not supported; use message, function_call,"
            " function_call_output, mcp_approval_response or reasoning items.",
            f"{where}.type",
        )


def _approval_answer(item: dict[str, Any], where: str) -> dict[str, Any]:
    """An `mcp_approval_response` as the tool message that answers the approval call."""
    request_id = item.get("approval_request_id")
    if not isinstance(request_id, str) or not request_id.startswith(APPROVAL_REQUEST_PREFIX):
        raise _bad(
            f"{where}.approval_request_id must be the id of an mcp_approval_request item"
            f" ({APPROVAL_REQUEST_PREFIX}...).",
            f"{where}.approval_request_id",
        )
    if not isinstance(item.get("approve"), bool):
        raise _bad(f"{where}.approve must be true or false.", f"{where}.approve")
    answer = {"approved": item["approve"], "reason": str(item.get("reason") or "")}
    call_id = APPROVAL_ID_PREFIX + request_id.removeprefix(APPROVAL_REQUEST_PREFIX)
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(answer)}


def _text(content: Any, where: str) -> Any:
    """A message's content: a string, or the text of its input_text/output_text parts."""
    if not isinstance(content, list):
        return content
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, dict) or "text" not in part:
            continue
        if not isinstance(part["text"], str):
            param = f"{where}[{index}].text"
            raise _bad(f"{param} must be a string, not {_json_type(part['text'])}.", param)
        texts.append(part["text"])
    return "".join(texts)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "an array"}
    return kinds.get(type(value), "an object" if isinstance(value, dict) else "a string")


def _check_hosted(tool: dict[str, Any], server_tools: Collection[str], where: str) -> None:
    hosted = HOSTED_TOOLS.get(tool.get("type") or "")
    if hosted and hosted[0] not in server_tools:
        raise _bad(
            f"{where}: {tool['type']} needs the {hosted[1]} tool, which this server does not"
            f" offer (BUILTIN_TOOLS={hosted[1]} turns it on).",
            f"{where}.type",
        )


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise _bad(
            f"tools: only function tools and {', '.join(sorted(SERVER_TYPES))} can be offered"
            f" here (got {tool.get('type')!r}); the server's own tools are always available.",
            "tools",
        )
    keys = ("name", "description", "parameters", "strict")
    return {"type": "function", "function": {k: tool[k] for k in keys if tool.get(k) is not None}}


def _tool_choice(choice: str | dict[str, Any] | None) -> Any:
    if isinstance(choice, dict):
        hosted = HOSTED_TOOLS.get(choice.get("type") or "")
        name = hosted[0] if hosted else choice.get("name", "")
        return {"type": "function", "function": {"name": name}}
    return choice
