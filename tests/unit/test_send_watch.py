"""The stream's send timeout (api/streaming.py): a send that waits longer than the timeout
ends the stream with SendTimeoutError; sends that finish in time never do, however many."""

from __future__ import annotations

import asyncio

import pytest
from sse_starlette.sse import SendTimeoutError

from api.sse import TurnEventStream


async def _events():
    yield b"data: 1\n\n"


def _stream(timeout: float) -> TurnEventStream:
    return TurnEventStream(_events(), send_timeout=timeout)


async def test_a_send_that_waits_too_long_is_cut_off() -> None:
    stream = _stream(0.05)
    gate = asyncio.Event()

    async def stuck(message) -> None:
        await gate.wait()  # a client that never reads

    started = asyncio.get_running_loop().time()
    with pytest.raises(SendTimeoutError):
        await stream._send_with_timeout(stuck, {"type": "http.response.body"})
    assert asyncio.get_running_loop().time() - started >= 0.05  # not before its time
    assert asyncio.current_task().cancelling() == 0  # the cancellation was ours, taken back


async def test_sends_in_time_pass_and_leave_no_timer() -> None:
    stream = _stream(0.05)
    sent = []

    async def quick(message) -> None:
        sent.append(message)
        await asyncio.sleep(0.001)

    for index in range(100):  # well past several timeouts in all
        await stream._send_with_timeout(quick, {"n": index})
    assert [m["n"] for m in sent] == list(range(100))
    assert stream._watch is not None
    stream._watch.stop()
    assert stream._watch._timer is None


async def test_a_cancellation_from_elsewhere_is_not_called_a_timeout() -> None:
    stream = _stream(30)

    async def stuck(message) -> None:
        await asyncio.sleep(60)

    task = asyncio.create_task(stream._send_with_timeout(stuck, {}))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream._watch is not None
    stream._watch.stop()
