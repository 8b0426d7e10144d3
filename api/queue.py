"""A limit on turns running at once in this process, with a bounded FIFO queue."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agent.errors import AgentError
from agent.metrics import QUEUE_WAIT_SECONDS, TURNS_QUEUED, TURNS_RUNNING
from agent.tracing import span


def rate_limited(reason: str, retry_after: float) -> AgentError:
    """The 429 a client should retry after `retry_after` seconds."""
    error = AgentError(
        f"{reason}; nothing was stored, retry the same request shortly.",
        code="rate_limit_exceeded",
    )
    error.headers = {"retry-after": str(max(1, math.ceil(retry_after))), "x-should-retry": "true"}
    return error


class TurnLimiter:
    """At most `max_running` turns run; up to `max_queued` wait, first come first served,
    each at most `timeout` seconds. A finishing turn hands its slot to the oldest waiter."""

    def __init__(self, max_running: int, max_queued: int, timeout: float) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self.timeout = timeout
        self.running = 0
        self._waiting: deque[tuple[float, asyncio.Future[None]]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a running slot for the body, or raise the 429."""
        started = time.monotonic()
        with span("oss_agent.queue_wait"):
            await self._acquire()
        QUEUE_WAIT_SECONDS.observe(time.monotonic() - started)
        try:
            yield
        finally:
            self._release()

    def status(self) -> dict[str, Any]:
        """Numbers for GET /queue/status and /ready."""
        oldest = time.monotonic() - self._waiting[0][0] if self._waiting else 0.0
        return {
            "running": self.running,
            "queued": len(self._waiting),
            "max_running": self.max_running,
            "max_queued": self.max_queued,
            "oldest_wait_seconds": round(oldest, 3),
        }

    async def _acquire(self) -> None:
        if self.running < self.max_running and not self._waiting:
            self._set_running(self.running + 1)
            return
        if len(self._waiting) >= self.max_queued:
            raise rate_limited(
                f"Too many turns: {self.running} running and {len(self._waiting)} queued "
                "(MAX_CONCURRENT_TURNS, MAX_QUEUED_TURNS)",
                self.timeout or 1,
            )
        entry = (time.monotonic(), asyncio.get_running_loop().create_future())
        self._waiting.append(entry)
        self._publish()
        try:
            await asyncio.wait_for(asyncio.shield(entry[1]), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if not self._leave(entry):  # the slot arrived as the wait ended: pass it on
                self._release()
            if isinstance(exc, TimeoutError):
                raise rate_limited(
                    f"No turn slot became free within QUEUE_TIMEOUT ({self.timeout:g} s)",
                    self.timeout or 1,
                ) from None
            raise

    def _leave(self, entry: tuple[float, asyncio.Future[None]]) -> bool:
        """Take a waiter out of the queue; False when it had already been given a slot."""
        if entry[1].done():
            return False
        self._waiting.remove(entry)
        entry[1].cancel()
        self._publish()
        return True

    def _release(self) -> None:
        if self._waiting:  # the slot passes straight to the oldest waiter
            _, future = self._waiting.popleft()
            future.set_result(None)
            self._publish()
            return
        self._set_running(self.running - 1)

    def _set_running(self, value: int) -> None:
        self.running = value
        self._publish()

    def _publish(self) -> None:
        TURNS_RUNNING.set(self.running)
        TURNS_QUEUED.set(len(self._waiting))
