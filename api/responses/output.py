"""Response objects and ids. A response id names its session and where in the session's
messages the turn's output starts, so GET /v1/responses/{id} rebuilds it from the stored
history (api/responses/stored.py) and a response is owned like its session."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from agent.builtin_tools import PYTHON
from agent.errors import AgentError
from api.chat_render import usage_of
from graph.approval import APPROVAL_TOOL
from graph.turn import TurnOutcome
from mcp_tools.builtin.browser import searched_address, shown_address

# Ids this service makes hold a message index and a Unix time: longer numbers are not ours.
_RESPONSE_ID = re.compile(r"resp_(\d{1,18})-(\d{1,18})_(.+)")
APPROVAL_REQUEST_PREFIX = "mcpr_"
"""An `mcp_approval_request` item's id: this prefix and the id of the call it is about."""
# A background response's id names its run (graph/store/background_runs.py) and its session.
_BACKGROUND_ID = re.compile(r"resp_bg([0-9a-f]{32})_(.+)")


@dataclass
class ResponseRef:
    """What a response id says: its session, where its messages start, when it was made;
    a background response's id names its run instead of its start (known once it runs)."""

    session_id: str
    start: int
    created_at: int
    run: str | None = None

    @property
    def id(self) -> str:
        if self.run is not None:
            return f"resp_bg{self.run}_{self.session_id}"
        return f"resp_{self.start}-{self.created_at}_{self.session_id}"

    @classmethod
    def parse(cls, response_id: str) -> ResponseRef:
        """The reference in an id, or the 404 for an id this service did not make."""
        if match := _BACKGROUND_ID.fullmatch(response_id):
            run, session = match.groups()
            return cls(session, 0, 0, run)
        match = _RESPONSE_ID.fullmatch(response_id)
        if match is None:
            raise unknown_response(response_id)
        start, created, session = match.groups()
        return cls(session, int(start), int(created))


def unknown_response(response_id: str) -> AgentError:
    return AgentError(
        f"Response {response_id!r} does not exist (deleted, stored with store=false, or never"
        " made). Omit previous_response_id to start a new conversation.",
        param="previous_response_id",
        code="response_not_found",
    )


def new_ref(session_id: str, start: int) -> ResponseRef:
    return ResponseRef(session_id, start, int(time.time()))


def output_items(outcome: TurnOutcome, ref: ResponseRef) -> list[dict[str, Any]]:
    """Reasoning, message, the server's code_interpreter_call / web_search_call, and the
    function_call and mcp_approval_request items, in that order (the order a stream sends
    them in)."""
    items: list[dict[str, Any]] = []
    if outcome.reasoning:
        items.append(reasoning_item(ref, outcome.reasoning))
    if outcome.content:
        items.append(message_item(ref, outcome.content, annotations=outcome.annotations))
    items += [builtin_call_item(call) for call in outcome.builtin_calls]
    items += [call_item(call) for call in outcome.tool_calls]
    return items


def builtin_call_item(call: dict[str, Any]) -> dict[str, Any]:
    """A python call as a `code_interpreter_call`, a browser call as a `web_search_call`."""
    status = "completed" if call["status"] != "error" else "failed"
    if call["name"] == PYTHON:
        return {
            "type": "code_interpreter_call",
            "id": f"ci_{call['id']}",
            "status": status,
            "code": str(call["args"].get("code") or ""),
            "container_id": "sandbox",
            "outputs": [{"type": "logs", "logs": call["result"]}],
        }
    return {
        "type": "web_search_call",
        "id": f"ws_{call['id']}",
        "status": status,
        "action": _search_action(call["name"], call["args"], call["result"]),
    }


def _search_action(name: str, args: dict[str, Any], result: str) -> dict[str, Any]:
    """The SDK's action of a browser call; the page's address is read from the page the
    tool showed (the model opens most pages by a link number, not an address)."""
    if name == "browser_search":
        return {"type": "search", "query": str(args.get("query") or "")}
    if name == "browser_find":
        pattern = str(args.get("pattern") or "")
        return {"type": "find_in_page", "pattern": pattern, "url": searched_address(result) or ""}
    opened = args.get("id")
    asked = opened if isinstance(opened, str) else None
    return {"type": "open_page", "url": shown_address(result) or asked}


def reasoning_item(ref: ResponseRef, text: str) -> dict[str, Any]:
    content = [{"type": "reasoning_text", "text": text}]
    return {"type": "reasoning", "id": f"rs_{ref.start}", "summary": [], "content": content}


def message_item(
    ref: ResponseRef,
    text: str,
    status: str = "completed",
    annotations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The assistant message; `annotations` are the `url_citation`s of its browser citations."""
    part = {"type": "output_text", "text": text, "annotations": list(annotations or [])}
    return {
        "type": "message",
        "id": f"msg_{ref.start}",
        "role": "assistant",
        "status": status,
        "content": [part],
    }


def call_item(call: dict[str, Any]) -> dict[str, Any]:
    """A call the client answers: its own tool's `function_call`, or the approval a server
    tool waits for as an `mcp_approval_request`."""
    if call["function"]["name"] == APPROVAL_TOOL:
        return approval_request_item(call)
    return function_call_item(call)


def approval_request_item(call: dict[str, Any]) -> dict[str, Any]:
    """A server tool call waiting for approval, as OpenAI's MCP tool shows one; answered by
    an `mcp_approval_response` input item naming its id."""
    asked = json.loads(call["function"]["arguments"])
    return {
        "type": "mcp_approval_request",
        "id": f"{APPROVAL_REQUEST_PREFIX}{asked['call_id']}",
        "server_label": asked.get("server") or "builtin",
        "name": asked["tool"],
        "arguments": json.dumps(asked["arguments"], ensure_ascii=False),
    }


def function_call_item(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call['id']}",
        "call_id": call["id"],
        "name": call["function"]["name"],
        "arguments": call["function"]["arguments"],
        "status": "completed",
    }


def response_object(
    ref: ResponseRef, model: str, outcome: TurnOutcome | None, **fields: Any
) -> dict[str, Any]:
    """A `response` object; `fields` override (status, error, previous_response_id, ...)."""
    usage = usage_of(outcome) if outcome else None
    body: dict[str, Any] = {
        "id": ref.id,
        "object": "response",
        "created_at": ref.created_at,
        "status": "completed",
        "model": model,
        "output": output_items(outcome, ref) if outcome else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": _incomplete(outcome),
        "usage": usage
        and {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
            "context_trimmed_messages": usage.context_trimmed_messages,
        },
    }
    if body["incomplete_details"]:
        body["status"] = "incomplete"
    return {**body, **fields}


def _incomplete(outcome: TurnOutcome | None) -> dict[str, str] | None:
    if outcome and outcome.finish_reason == "length":
        return {"reason": "max_output_tokens"}
    return None
