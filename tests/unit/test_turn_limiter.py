"""The turn limiter: never more than the limit running, waiters admitted first come first
served, a full queue or a wait past QUEUE_TIMEOUT refused with a retryable 429."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import AgentError
from api.queue import KeyShare, TurnLimiter


async def _turn(limiter: TurnLimiter, name: int, log: list, peak: list, hold: float) -> str:
    try:
        async with limiter.slot():
            log.append(name)
            peak.append(limiter.running)
            await asyncio.sleep(hold)
    except AgentError as exc:
        return exc.code or ""
    return "ok"


@settings(max_examples=40, deadline=None)
@given(
    running=st.integers(1, 4),
    queued=st.integers(0, 6),
    burst=st.integers(1, 14),
    holds=st.lists(st.sampled_from([0.01, 0.02, 0.04]), min_size=14, max_size=14),
)
def test_burst_is_admitted_in_order_up_to_the_limits(
    running: int, queued: int, burst: int, holds: list[float]
) -> None:
    async def scenario() -> tuple[list[str], list[int], list[int], dict]:
        limiter = TurnLimiter(running, queued, timeout=30)
        log: list[int] = []
        peak: list[int] = []
        tasks = []
        for name in range(burst):
            tasks.append(asyncio.create_task(_turn(limiter, name, log, peak, holds[name])))
            await asyncio.sleep(0)  # each turn arrives (and queues) before the next
        results = await asyncio.gather(*tasks)
        return results, log, peak, limiter.status()

    results, log, peak, status = asyncio.run(scenario())
    admitted = min(burst, running + queued)
    assert results == ["ok"] * admitted + ["rate_limit_exceeded"] * (burst - admitted)
    assert log == list(range(admitted))  # FIFO: started in arrival order
    assert max(peak) <= running
    assert (status["running"], status["queued"]) == (0, 0)


def test_wait_past_the_timeout_is_refused_and_leaves_the_queue() -> None:
    async def scenario() -> None:
        limiter = TurnLimiter(1, 5, timeout=0.05)
        holder = asyncio.create_task(_turn(limiter, 0, [], [], 0.5))
        await asyncio.sleep(0)
        with pytest.raises(AgentError) as refused:
            async with limiter.slot():
                pass
        assert refused.value.code == "rate_limit_exceeded"
        assert refused.value.headers == {"retry-after": "1", "x-should-retry": "true"}
        assert limiter.status()["queued"] == 0
        assert await holder == "ok"
        assert limiter.status()["running"] == 0

    asyncio.run(scenario())


def test_a_cancelled_waiter_gives_up_its_place() -> None:
    async def scenario() -> None:
        limiter = TurnLimiter(1, 5, timeout=30)
        log: list[int] = []
        first = asyncio.create_task(_turn(limiter, 0, log, [], 0.02))
        await asyncio.sleep(0)
        gone = asyncio.create_task(_turn(limiter, 1, log, [], 0))
        last = asyncio.create_task(_turn(limiter, 2, log, [], 0))
        await asyncio.sleep(0)
        assert limiter.status()["queued"] == 2
        gone.cancel()
        await asyncio.gather(first, last, return_exceptions=True)
        assert log == [0, 2] and limiter.status() | {"oldest_wait_seconds": 0} == {
            "running": 0,
            "queued": 0,
            "max_running": 1,
            "max_queued": 5,
            "oldest_wait_seconds": 0,
        }

    asyncio.run(scenario())


@settings(max_examples=40, deadline=None)
@given(
    owners=st.lists(st.sampled_from("abc"), min_size=1, max_size=12),
    running=st.integers(1, 4),
    queued=st.integers(0, 6),
    fraction=st.sampled_from([0.25, 0.5, 1.0]),
)
def test_no_key_holds_more_than_its_share(
    owners: list[str], running: int, queued: int, fraction: float
) -> None:
    """Whatever the mix of keys, a key never runs more than its share, a key alone gets
    exactly its share of slots and queue places, and every slot is returned."""
    share = KeyShare.of(fraction, running, queued)
    limiter = TurnLimiter(running, queued, timeout=30, share=share)
    held: dict[str, int] = {}
    peaks: dict[str, int] = {}

    async def turn(owner: str) -> str:
        try:
            async with limiter.slot(owner):
                held[owner] = held.get(owner, 0) + 1
                peaks[owner] = max(peaks.get(owner, 0), held[owner])
                await asyncio.sleep(0.01)
                held[owner] -= 1
        except AgentError as exc:
            return exc.code or ""
        return "ok"

    async def scenario() -> list[str]:
        tasks = []
        for owner in owners:
            tasks.append(asyncio.create_task(turn(owner)))
            await asyncio.sleep(0)
        return await asyncio.gather(*tasks)

    results = asyncio.run(scenario())
    assert set(results) <= {"ok", "rate_limit_exceeded"}
    assert all(peak <= share.running for peak in peaks.values())
    if len(set(owners)) == 1:  # one key alone: its share runs, its share waits
        admitted = min(len(owners), share.running + share.queued)
        assert results == ["ok"] * admitted + ["rate_limit_exceeded"] * (len(owners) - admitted)
    assert limiter.status()["running"] == 0 and limiter.status()["queued"] == 0
