"""A limit on turns running at once in this process, with a bounded FIFO queue and a
per-key share of both."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agent.errors import AgentError
from agent.metrics import QUEUE_WAIT_SECONDS, TURNS_QUEUED, TURNS_RUNNING
from agent.settings import Settings
from agent.tracing import span


def rate_limited(reason: str, retry_after: float) -> AgentError:
    """The 429 a client should retry after `retry_after` seconds."""
    error = AgentError(
        f"{reason}; nothing was stored, retry the same request shortly.",
        code="rate_limit_exceeded",
    )
    error.headers = {"retry-after": str(max(1, math.ceil(retry_after))), "x-should-retry": "true"}
    return error


@dataclass(frozen=True)
class KeyShare:
    """What one key may hold at once: running turns and queued turns."""

    running: int
    queued: int
    fraction: float

    @classmethod
    def of(cls, fraction: float, max_running: int, max_queued: int) -> KeyShare:
        """`fraction` of each limit, rounded down, at least one (none of an empty queue)."""
        queued = max(1, math.floor(max_queued * fraction)) if max_queued else 0
        return cls(max(1, math.floor(max_running * fraction)), queued, fraction)


@dataclass(eq=False)
class _Waiter:
    owner: str
    since: float
    future: asyncio.Future[None]


class TurnLimiter:
    """At most `max_running` turns run; up to `max_queued` wait, first come first served,
    each at most `timeout` seconds. With a `share`, one owner (key) holds at most its share
    of each; a freed slot goes to the oldest waiter whose owner is under its share."""

    def __init__(
        self, max_running: int, max_queued: int, timeout: float, share: KeyShare | None = None
    ) -> None:
        self.max_running = max_running
        self.max_queued = max_queued
        self.timeout = timeout
        self.share = share
        self.running = 0
        self._running_by: Counter[str] = Counter()
        self._queued_by: Counter[str] = Counter()
        self._waiting: deque[_Waiter] = deque()

    @classmethod
    def from_settings(cls, settings: Settings, client_keys: int) -> TurnLimiter:
        """The limiter of the settings; the per-key share applies with two or more keys."""
        running, queued = settings.max_concurrent_turns, settings.max_queued_turns
        share = KeyShare.of(settings.key_turn_share, running, queued) if client_keys > 1 else None
        return cls(running, queued, settings.queue_timeout, share)

    @asynccontextmanager
    async def slot(self, owner: str = "") -> AsyncIterator[None]:
        """Hold a running slot for the body, or raise the 429."""
        started = time.monotonic()
        with span("oss_agent.queue_wait"):
            await self._acquire(owner)
        QUEUE_WAIT_SECONDS.observe(time.monotonic() - started)
        try:
            yield
        finally:
            self._release(owner)

    def status(self) -> dict[str, Any]:
        """Numbers for GET /queue/status and /ready."""
        oldest = time.monotonic() - self._waiting[0].since if self._waiting else 0.0
        return {
            "running": self.running,
            "queued": len(self._waiting),
            "max_running": self.max_running,
            "max_queued": self.max_queued,
            "oldest_wait_seconds": round(oldest, 3),
        }

    async def _acquire(self, owner: str) -> None:
        # Every free slot has already gone to an eligible waiter (`_dispatch`), so a free
        # slot here skips no one who could use it.
        if self.running < self.max_running and self._may_run(owner):
            self._take(owner)
            self._publish()
            return
        self._check_queue_room(owner)
        waiter = _Waiter(owner, time.monotonic(), asyncio.get_running_loop().create_future())
        self._waiting.append(waiter)
        self._queued_by[owner] += 1
        self._publish()
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if not self._leave(waiter):  # the slot arrived as the wait ended: pass it on
                self._release(owner)
            if isinstance(exc, TimeoutError):
                raise rate_limited(
                    f"No turn slot became free within QUEUE_TIMEOUT ({self.timeout:g} s)",
                    self.timeout or 1,
                ) from None
            raise

    def _check_queue_room(self, owner: str) -> None:
        if len(self._waiting) >= self.max_queued:
            raise rate_limited(
                f"Too many turns: {self.running} running and {len(self._waiting)} queued "
                "(MAX_CONCURRENT_TURNS, MAX_QUEUED_TURNS)",
                self.timeout or 1,
            )
        if self.share and self._queued_by[owner] >= self.share.queued:
            raise rate_limited(
                f"This key already has {self._running_by[owner]} running and "
                f"{self._queued_by[owner]} queued turns, its share of the server "
                f"(KEY_TURN_SHARE={self.share.fraction:g}: {self.share.running} running, "
                f"{self.share.queued} queued)",
                self.timeout or 1,
            )

    def _may_run(self, owner: str) -> bool:
        return self.share is None or self._running_by[owner] < self.share.running

    def _leave(self, waiter: _Waiter) -> bool:
        """Take a waiter out of the queue; False when it had already been given a slot."""
        if waiter.future.done():
            return False
        self._waiting.remove(waiter)
        self._queued_by[waiter.owner] -= 1
        waiter.future.cancel()
        self._publish()
        return True

    def _release(self, owner: str) -> None:
        self.running -= 1
        self._running_by[owner] -= 1
        self._dispatch()
        self._publish()

    def _take(self, owner: str) -> None:
        self.running += 1
        self._running_by[owner] += 1

    def _dispatch(self) -> None:
        """Give free slots to the oldest waiters whose owners are under their share."""
        while self.running < self.max_running:
            waiter = next((w for w in self._waiting if self._may_run(w.owner)), None)
            if waiter is None:
                return
            self._waiting.remove(waiter)
            self._queued_by[waiter.owner] -= 1
            self._take(waiter.owner)
            waiter.future.set_result(None)

    def _publish(self) -> None:
        TURNS_RUNNING.set(self.running)
        TURNS_QUEUED.set(len(self._waiting))
