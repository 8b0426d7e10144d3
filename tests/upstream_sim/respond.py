"""Turn a scripted step into bytes on the wire: delays, faults, verbatim replays, SSE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from tests.upstream_sim import wire
from tests.upstream_sim.asgi import Exchange, close_connection, send_whole, start
from tests.upstream_sim.asgi import wait_for_disconnect as wait_for_client_to_leave
from tests.upstream_sim.steps import FlavorConfig, Step
from tests.upstream_sim.turn import Turn

TurnBuilder = Callable[[Step, dict[str, Any], FlavorConfig], Turn]


class WireFormat(Protocol):
    def full(self, turn: Turn) -> dict[str, Any]: ...
    def chunks(self, turn: Turn, include_usage: bool) -> list[dict[str, Any]]: ...


async def answer(
    ex: Exchange,
    step: Step,
    flavor: FlavorConfig,
    body: dict[str, Any],
    build: TurnBuilder,
    fmt: WireFormat,
) -> None:
    """Send the response `step` asks for, in `flavor`'s wire format."""
    if step.delay:
        await asyncio.sleep(step.delay)
    if await _fault_before_response(ex, step, flavor):
        return
    if step.response is not None:
        await _send_verbatim_json(ex, step, flavor)
    elif step.sse is not None:
        await stream(ex, step, flavor, _verbatim_events(step))
    elif body.get("stream"):
        turn = build(step, body, flavor)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = fmt.chunks(turn, include_usage)
        events = [wire.sse_event(chunk, flavor.name) for chunk in chunks] + [wire.DONE_EVENT]
        await stream(ex, step, flavor, events)
    else:
        payload = wire.json_body(fmt.full(build(step, body, flavor)), flavor.name)
        await _send_full(ex, step, flavor, payload)


async def send_error(
    ex: Exchange,
    flavor: FlavorConfig,
    status: int,
    message: str,
    step: Step | None = None,
    param: str | None = None,
) -> None:
    """An error response: the step's verbatim `body`, else the flavor's error object."""
    body: Any = step.body if step is not None and step.body is not None else None
    if body is None:
        body = wire.error_body(flavor.name, status, message, param)
    extra = step.headers if step is not None else {}
    if isinstance(body, str):
        await send_whole(ex, status, "text/plain; charset=utf-8", body.encode(), extra)
    else:
        content_type = wire.JSON_TYPES[flavor.name]
        await send_whole(ex, status, content_type, wire.json_body(body, flavor.name), extra)


async def stream(ex: Exchange, step: Step, flavor: FlavorConfig, events: list[str]) -> None:
    """Write SSE events, honouring chunk_delay and the mid-stream faults."""
    midstream = step.fault in ("drop", "stall", "error_event")
    if midstream:
        cut = step.fault_after if step.fault_after is not None else len(events) // 2
        events = events[:cut]
    status = 200 if step.fault == "error_event" else step.status or 200
    await start(ex.send, status, wire.SSE_TYPES[flavor.name], step.headers)
    gone = asyncio.ensure_future(wait_for_client_to_leave(ex.receive))
    try:
        sent = await _send_events(ex, step, events, gone)
    finally:
        gone.cancel()
    if ex.record is not None:  # how the stream ended, for tests of the client's side
        outcome = "client_gone" if sent < len(events) else "sent"
        ex.record["stream"] = {"events": len(events), "sent": sent, "outcome": outcome}
    if sent < len(events):
        return
    if step.fault == "drop":
        await close_connection(ex, reset=False)
        return
    if step.fault == "stall":
        await wait_for_client_to_leave(ex.receive)
        return
    tail = _error_event(step, flavor) + wire.DONE_EVENT if step.fault == "error_event" else ""
    await ex.send({"type": "http.response.body", "body": tail.encode(), "more_body": False})


async def _send_events(
    ex: Exchange, step: Step, events: list[str], gone: asyncio.Future[None]
) -> int:
    """Write the events, `chunk_delay` apart; stop as soon as the client has gone. How many
    were written."""
    for index, event in enumerate(events):
        if index and step.chunk_delay:
            await asyncio.wait({gone}, timeout=step.chunk_delay)
        if gone.done():
            return index
        await ex.send({"type": "http.response.body", "body": event.encode(), "more_body": True})
    return len(events)


async def _fault_before_response(ex: Exchange, step: Step, flavor: FlavorConfig) -> bool:
    if step.fault == "error500":
        await send_error(ex, flavor, 500, step.message or "Simulated upstream failure", step)
    elif step.fault == "status":
        status = step.status or 400
        await send_error(ex, flavor, status, step.message or f"Simulated {status}", step)
    elif step.fault == "hang":
        await wait_for_client_to_leave(ex.receive)
    elif step.fault == "reset":
        await close_connection(ex, reset=True)
    else:
        return False
    return True


async def _send_full(ex: Exchange, step: Step, flavor: FlavorConfig, payload: bytes) -> None:
    content_type = wire.JSON_TYPES[flavor.name]
    if step.fault == "error_event":  # without a stream, the error is the whole response
        await send_error(ex, flavor, step.status or 400, step.message or "Simulated error", step)
        return
    if step.fault not in ("drop", "stall"):
        await send_whole(ex, step.status or 200, content_type, payload, step.headers)
        return
    # A body cut short: the declared length promises more than ever arrives.
    cut = step.fault_after if step.fault_after is not None else len(payload) // 2
    extra = {"content-length": str(len(payload)), **step.headers}
    await start(ex.send, step.status or 200, content_type, extra)
    await ex.send({"type": "http.response.body", "body": payload[:cut], "more_body": True})
    if step.fault == "stall":
        await wait_for_client_to_leave(ex.receive)
    else:
        await close_connection(ex, reset=False)


async def _send_verbatim_json(ex: Exchange, step: Step, flavor: FlavorConfig) -> None:
    if isinstance(step.response, str):
        payload = step.response.encode()
    else:
        payload = wire.json_body(step.response, flavor.name)
    await _send_full(ex, step, flavor, payload)


def _verbatim_events(step: Step) -> list[str]:
    lines = list(step.sse or [])
    if step.sse_done and (not lines or lines[-1].strip() != "data: [DONE]"):
        lines.append("data: [DONE]")
    return [line + "\n\n" for line in lines]


def _error_event(step: Step, flavor: FlavorConfig) -> str:
    status = step.status or 400
    body = step.body or wire.error_body(flavor.name, status, step.message or "Simulated error")
    return wire.sse_event(body, flavor.name)
