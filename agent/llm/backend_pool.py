"""Several model servers: route by model to the least busy healthy one, and check their
health in the background: GET {base_url}/models (agent/llm/probe.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from agent.errors import AgentError
from agent.llm.backend import Backend
from agent.llm.backend_config import BackendSpec, read_backends_file, single_backend
from agent.llm.http import ModelHttp, model_server
from agent.llm.probe import probe_upstream
from agent.llm.request_fields import for_server
from agent.metrics import BACKEND_HEALTHY, BACKEND_IN_FLIGHT
from agent.settings import Settings


def model_not_found(model: str, available: list[str]) -> AgentError:
    """The 404 for a model no backend serves."""
    return AgentError(
        f"Model {model!r} is not served here; available models: {available}.",
        param="model",
        code="model_not_found",
    )


class BackendPool:
    """The backends of this process. With only LLM_BASE_URL (`catch_all`), every model
    name goes to that one server as LLM_MODEL, as before several backends existed."""

    def __init__(self, settings: Settings, specs: list[BackendSpec], catch_all: bool) -> None:
        self.settings = settings
        self.catch_all = catch_all
        self.http = ModelHttp(settings.llm_timeout)
        self.backends: dict[str, Backend] = {}
        for spec in specs:
            self.add(spec)

    @classmethod
    def from_settings(cls, settings: Settings) -> BackendPool:
        """LLM_BACKENDS_FILE when set, else the single LLM_BASE_URL backend."""
        if settings.llm_backends_file is None:
            return cls(settings, [single_backend(settings)], catch_all=True)
        return cls(settings, read_backends_file(settings.llm_backends_file), catch_all=False)

    def models(self) -> list[str]:
        """Every served model, in the order the backends list them."""
        seen: dict[str, None] = {}
        for backend in self.backends.values():
            seen.update(dict.fromkeys(backend.spec.models))
        return list(seen)

    def resolve(self, model: str | None) -> str | None:
        """The model name to send upstream for a request's `model` (unset: the first one
        listed), or the 404 naming the available ones; None sends the backend's own model."""
        if self.catch_all:
            return None
        if model is None:
            return self.models()[0] if self.backends else None
        if model not in self.models():
            raise model_not_found(model, self.models())
        return model

    def pick(self, model: str | None, tried: set[str]) -> Backend | None:
        """The least busy healthy backend serving `model` not yet tried (of equals, the one
        used least recently); an unhealthy one only when no healthy one is left (its health
        check may lag behind)."""
        serving = [
            b
            for b in self.backends.values()
            if b.spec.name not in tried and (model is None or model in b.spec.models)
        ]
        if not serving:
            return None
        return min(serving, key=lambda b: (not b.healthy, b.load, b.last_used))

    def check_fields(self, model: str | None, fields: dict[str, Any]) -> None:
        """The 400 for a request field one of the model's backends cannot take, before
        anything of the turn is stored."""
        for backend in self.backends.values():
            if model is None or model in backend.spec.models:
                mode = backend.spec.mode or self.settings.tool_call_mode
                for_server(fields, backend.spec.server, mode)

    def register(self, spec: BackendSpec) -> Backend:
        """A backend added at run time: from now on requests are routed by model."""
        self.catch_all = False
        return self.add(spec)

    def add(self, spec: BackendSpec) -> Backend:
        """Add a backend (replacing one of the same name)."""
        backend = self.backends[spec.name] = Backend(
            spec, model_server(self.settings, spec, self.http)
        )
        BACKEND_HEALTHY.labels(spec.name).set(1)
        BACKEND_IN_FLIGHT.labels(spec.name).set(0)
        return backend

    async def aclose(self) -> None:
        """Close the connections to every backend (at shutdown)."""
        await self.http.aclose()

    def remove(self, name: str) -> Backend | None:
        """Forget a backend; turns already using it finish on it."""
        backend = self.backends.pop(name, None)
        if backend is not None:
            BACKEND_HEALTHY.remove(name)
            BACKEND_IN_FLIGHT.remove(name)
        return backend

    @contextmanager
    def busy(self, backend: Backend) -> Iterator[None]:
        """Count a model call in flight on `backend`."""
        backend.in_flight += 1
        backend.last_used = time.monotonic()
        BACKEND_IN_FLIGHT.labels(backend.spec.name).set(backend.in_flight)
        try:
            yield
        finally:
            backend.in_flight -= 1
            if backend.spec.name in self.backends:
                BACKEND_IN_FLIGHT.labels(backend.spec.name).set(backend.in_flight)

    def succeeded(self, backend: Backend, latency: float) -> None:
        """Back in rotation after any success."""
        backend.failures, backend.latency, backend.healthy = 0, latency, True
        self._publish(backend)

    def failed(self, backend: Backend, error: str) -> None:
        """Out of rotation after BACKEND_MAX_FAILURES failures in a row."""
        backend.failures += 1
        backend.last_error = error
        if backend.failures >= self.settings.backend_max_failures:
            backend.healthy = False
        self._publish(backend)

    def _publish(self, backend: Backend) -> None:
        if backend.spec.name in self.backends:
            BACKEND_HEALTHY.labels(backend.spec.name).set(1 if backend.healthy else 0)


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
