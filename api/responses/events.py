"""The streamed response: a turn's events (api/turns.py) in, Responses API server-sent
events out."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from agent.errors import AgentError
from api.errors import agent_error_body
from api.responses.output import (
    ResponseRef,
    builtin_call_item,
    call_item,
    message_item,
    reasoning_item,
)
from api.turns import Delta, Done, TurnEvent
from graph.turn import TurnOutcome

logger = logging.getLogger(__name__)

Finish = Callable[[TurnOutcome | None, dict[str, Any]], dict[str, Any]]
"""Makes the response object for the outcome (None: failed), with fields to override."""


class EventWriter:
    """Numbers events and keeps track of the output items opened by deltas."""

    def __init__(self, ref: ResponseRef, sequence: int = 0) -> None:
        self.ref = ref
        self.sequence = sequence
        self.items: list[dict[str, Any]] = []
        self.texts: dict[str, list[str]] = {}

    def event(self, kind: str, **fields: Any) -> dict[str, str]:
        body = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return {"event": kind, "data": json.dumps(body, ensure_ascii=False)}

    def delta(self, kind: str, text: str) -> list[dict[str, str]]:
        """A reasoning or content delta, opening its output item first."""
        events = []
        if kind not in self.texts:
            self.texts[kind] = []
            item = self._item(kind, "", "in_progress")
            events.append(
                self.event("response.output_item.added", output_index=len(self.items), item=item)
            )
            self.items.append(item)
            if kind == "content":
                part = {"type": "output_text", "text": "", "annotations": []}
                events.append(self._part("response.content_part.added", item, part))
        self.texts[kind].append(text)
        name = (
            "response.output_text.delta" if kind == "content" else "response.reasoning_text.delta"
        )
        item = self._open(kind)
        events.append(self.event(name, **self._where(item), delta=text))
        return events

    def close(self, outcome: TurnOutcome) -> list[dict[str, str]]:
        """Close the streamed items and send the function calls; the output in order."""
        events = []
        for kind in list(self.texts):
            text = "".join(self.texts[kind])
            item = self._open(kind)
            done = self._item(kind, text, "completed", outcome.annotations)
            if kind == "content":
                events += self._annotations(item, outcome.annotations)
                events.append(
                    self.event("response.output_text.done", **self._where(item), text=text)
                )
                events.append(self._part("response.content_part.done", item, done["content"][0]))
            else:
                events.append(
                    self.event("response.reasoning_text.done", **self._where(item), text=text)
                )
            events.append(
                self.event(
                    "response.output_item.done", output_index=self.items.index(item), item=done
                )
            )
            self.items[self.items.index(item)] = done
        for call in outcome.builtin_calls:
            events += self._builtin_call(builtin_call_item(call))
        for call in outcome.tool_calls:
            item = call_item(call)
            if item["type"] == "function_call":
                events += self._function_call(item)
            else:
                events += self._whole_item(item)
        return events

    def _whole_item(self, item: dict[str, Any]) -> list[dict[str, str]]:
        """An item that is sent whole: added and done at once (mcp_approval_request)."""
        index = len(self.items)
        self.items.append(item)
        return [
            self.event("response.output_item.added", output_index=index, item=item),
            self.event("response.output_item.done", output_index=index, item=item),
        ]

    def _builtin_call(self, done: dict[str, Any]) -> list[dict[str, str]]:
        """A code_interpreter_call or web_search_call item, with its lifecycle events."""
        index = len(self.items)
        where = {"item_id": done["id"], "output_index": index}
        self.items.append(done)
        kind = done["type"]
        if kind == "code_interpreter_call":
            added = {**done, "code": "", "outputs": None, "status": "in_progress"}
            middle = [
                self.event("response.code_interpreter_call.in_progress", **where),
                self.event(
                    "response.code_interpreter_call_code.delta", **where, delta=done["code"]
                ),
                self.event("response.code_interpreter_call_code.done", **where, code=done["code"]),
                self.event("response.code_interpreter_call.interpreting", **where),
                self.event("response.code_interpreter_call.completed", **where),
            ]
        else:
            added = {**done, "status": "in_progress"}
            middle = [
                self.event("response.web_search_call.in_progress", **where),
                self.event("response.web_search_call.searching", **where),
                self.event("response.web_search_call.completed", **where),
            ]
        return [
            self.event("response.output_item.added", output_index=index, item=added),
            *middle,
            self.event("response.output_item.done", output_index=index, item=done),
        ]

    def _function_call(self, done: dict[str, Any]) -> list[dict[str, str]]:
        index = len(self.items)
        added = {**done, "arguments": "", "status": "in_progress"}
        where = {"item_id": done["id"], "output_index": index}
        self.items.append(done)
        return [
            self.event("response.output_item.added", output_index=index, item=added),
            self.event("response.function_call_arguments.delta", **where, delta=done["arguments"]),
            self.event(
                "response.function_call_arguments.done", **where, arguments=done["arguments"]
            ),
            self.event("response.output_item.done", output_index=index, item=done),
        ]

    def _item(
        self, kind: str, text: str, status: str, annotations: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        if kind == "content":
            return message_item(self.ref, text, status, annotations)
        return reasoning_item(self.ref, text)

    def _annotations(
        self, item: dict[str, Any], annotations: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """One `response.output_text.annotation.added` per citation of the message."""
        return [
            self.event(
                "response.output_text.annotation.added",
                **self._where(item),
                annotation_index=index,
                annotation=annotation,
            )
            for index, annotation in enumerate(annotations)
        ]

    def _open(self, kind: str) -> dict[str, Any]:
        wanted = "message" if kind == "content" else "reasoning"
        return next(i for i in self.items if i["type"] == wanted)

    def _where(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"item_id": item["id"], "output_index": self.items.index(item), "content_index": 0}

    def _part(self, kind: str, item: dict[str, Any], part: dict[str, Any]) -> dict[str, str]:
        return self.event(kind, **self._where(item), part=part)


async def response_events(
    events: AsyncIterator[TurnEvent],
    writer: EventWriter,
    finish: Finish,
    announced: bool = False,
) -> AsyncIterator[dict[str, str]]:
    """SSE events of a running turn (api/turns.py), from response.created (left out when
    `announced`: a background response's was sent when it was queued) to response.completed
    (or response.failed). Closing this closes the turn's events (the turn is not stored)."""
    try:
        created = finish(None, {"status": "in_progress"})
        if not announced:
            yield writer.event("response.created", response=created)
        yield writer.event("response.in_progress", response=created)
        async for event in events:
            if type(event) is Delta:
                if event.text:
                    for frame in writer.delta(event.kind, event.text):
                        yield frame
            elif type(event) is Done:
                for frame in writer.close(event.outcome):
                    yield frame
                response = finish(event.outcome, {"output": writer.items})
                yield writer.event("response.completed", response=response)
    except Exception as exc:
        if not isinstance(exc, AgentError):
            logger.exception("response stream failed")
        yield writer.event("response.failed", response=finish(None, failed_fields(exc)))
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def failed_fields(exc: Exception) -> dict[str, Any]:
    """The status and error of a response that `exc` ended."""
    error = (
        agent_error_body(exc)["error"]
        if isinstance(exc, AgentError)
        else {"code": "server_error", "message": f"Internal error ({type(exc).__name__})"}
    )
    code = error.get("code") or "server_error"
    return {"status": "failed", "error": {"code": code, "message": error["message"]}}
