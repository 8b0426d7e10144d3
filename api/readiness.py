"""Readiness: whether a model server and the session database answer, checked at most once
per READY_CACHE_SECONDS however often /ready is called (it needs no key, so it must not
turn each call into a model-server request)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from agent.llm.backend_pool import check_all
from agent.settings import mask_url_password


@dataclass(frozen=True)
class Readiness:
    """One check's outcome: `ok`, and the details shown to callers with a key."""

    ok: bool
    details: dict[str, Any]


class ReadinessCheck:
    """Runs the check for every caller within `seconds` of the last one only once;
    callers arriving while it runs wait for its result."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = asyncio.Lock()
        self._last: Readiness | None = None
        self._at = 0.0

    async def current(self, services: Any) -> Readiness:
        """The cached outcome while fresh, else a new check."""
        async with self._lock:
            if self._last is None or time.monotonic() - self._at >= self.seconds:
                self._last = await check(services)
                self._at = time.monotonic()
            return self._last


async def check(services: Any) -> Readiness:
    """Ask the model servers and the database, at once."""
    upstream, database = await asyncio.gather(check_upstream(services), check_database(services))
    ok = upstream["ok"] and database["ok"]
    return Readiness(ok, {"upstream": upstream, "database": database})


async def check_upstream(services: Any) -> dict[str, Any]:
    """GET {base_url}/models of every backend with a short timeout; ok when one answers."""
    results = await check_all(services.backends)
    backends = [
        {
            "name": backend.spec.name,
            "url": mask_url_password(backend.spec.base_url),
            "ok": answered,
            "error": None if answered else backend.last_error,
        }
        for backend, answered in results
    ]
    return {"ok": any(answered for _, answered in results), "backends": backends}


async def check_database(services: Any) -> dict[str, Any]:
    """The store's own check: a read through the checkpointer, and for SQLite that the file
    is still the one this process opened."""
    problem = await services.store.health.problem()
    return {"ok": True} if problem is None else {"ok": False, "error": problem}
