"""Background health checks of the backends: GET {base_url}/models."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import httpx

from agent.backends import Backend, BackendPool

logger = logging.getLogger(__name__)
CHECK_TIMEOUT = 5.0


async def check(pool: BackendPool, backend: Backend, client: httpx.AsyncClient) -> bool:
    """One check; a success puts the backend back in rotation."""
    headers = {}
    if backend.spec.api_key:
        headers["Authorization"] = f"Bearer {backend.spec.api_key.get_secret_value()}"
    started = time.monotonic()
    try:
        response = await client.get(f"{backend.spec.base_url}/models", headers=headers)
    except httpx.HTTPError as exc:
        pool.failed(backend, f"health check: {type(exc).__name__}")
        return False
    if response.status_code != 200:
        pool.failed(backend, f"health check: GET /models answered {response.status_code}")
        return False
    pool.succeeded(backend, time.monotonic() - started)
    return True


async def check_all(pool: BackendPool, client: httpx.AsyncClient) -> list[tuple[Backend, bool]]:
    """Check every backend at once; each with whether it answered."""
    backends = list(pool.backends.values())
    answered = await asyncio.gather(*(check(pool, backend, client) for backend in backends))
    return list(zip(backends, answered, strict=True))


async def watch(pool: BackendPool, interval: float) -> None:
    """Check every `interval` seconds until cancelled."""
    async with httpx.AsyncClient(timeout=min(interval, CHECK_TIMEOUT)) as client:
        while True:
            await asyncio.sleep(interval)
            if pool.catch_all:  # a lone LLM_BASE_URL backend has nothing to be routed around
                continue
            try:
                await check_all(pool, client)
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
