"""Background health checks of the backends: GET {base_url}/models (agent.llm.probe)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from agent.llm.backend_pool import Backend, BackendPool
from agent.llm.probe import probe_upstream

logger = logging.getLogger(__name__)


async def check(pool: BackendPool, backend: Backend) -> bool:
    """One check; a success puts the backend back in rotation, a failure says what to fix."""
    key = backend.spec.api_key.get_secret_value() if backend.spec.api_key else None
    started = time.monotonic()
    probe = await probe_upstream(backend.spec.base_url, key)
    if not probe.ok:
        pool.failed(backend, f"health check: {probe.problem}")
        return False
    pool.succeeded(backend, time.monotonic() - started)
    return True


async def check_all(pool: BackendPool) -> list[tuple[Backend, bool]]:
    """Check every backend at once; each with whether it answered."""
    backends = list(pool.backends.values())
    answered = await asyncio.gather(*(check(pool, backend) for backend in backends))
    return list(zip(backends, answered, strict=True))


async def watch(pool: BackendPool, interval: float) -> None:
    """Check every `interval` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        if pool.catch_all:  # a lone LLM_BASE_URL backend has nothing to be routed around
            continue
        try:
            await check_all(pool)
        except Exception:
            logger.exception("backend health check failed")


@contextlib.asynccontextmanager
async def watching(pool: BackendPool) -> AsyncIterator[BackendPool]:
    """Run the health checks for the life of the service."""
    task = asyncio.create_task(watch(pool, pool.settings.backend_health_interval))
    try:
        yield pool
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
