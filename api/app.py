"""The FastAPI application: lifespan opens the session store, tools and graph."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from agent import o200k, tracing
from agent.llm.backend_pool import BackendPool, watching
from agent.llm.probe import probe_upstream
from agent.settings import Settings, get_settings
from api.body_guard import BodyGuard
from api.deps import Services
from api.errors import register_exception_handlers
from api.keys import KeyRing
from api.limits import RequestLimits
from api.live_turns import LiveTurns
from api.logs import RequestLogMiddleware
from api.openapi import honest_openapi
from api.queue import TurnLimiter
from api.readiness import ReadinessCheck
from api.responses.background import BackgroundResponses
from api.responses.background_worker import BackgroundWorker
from api.routes import api_router, page
from api.sessions import Sessions
from api.sse import SERVER_SEND
from graph.builder import build_graph
from graph.deps import AgentDeps
from graph.store import open_store, store_errors
from graph.store.backend_registry import BackendRegistry
from graph.store.locks import DeploymentLimit
from mcp_tools.loader import open_tools

logger = logging.getLogger(__name__)


async def warn_about_upstream(backends: BackendPool) -> None:
    """Say at start-up what is wrong with each model server's URL; never stops the service
    starting."""
    for backend in list(backends.backends.values()):
        spec = backend.spec
        key = spec.api_key.get_secret_value() if spec.api_key else None
        probe = await probe_upstream(spec.base_url, key)
        where = "LLM_BASE_URL" if backends.catch_all else f"backend {spec.name!r}"
        if probe.ok:
            logger.info("model server at %s answers", probe.url)
        elif probe.problem:
            logger.warning("%s: %s; starting anyway", where, probe.problem)


async def _follow_registry(
    registry: BackendRegistry | None, backends: BackendPool, settings: Settings
) -> asyncio.Task[None] | None:
    """Serve the backends registered at run time by any process of this database, from
    now (a restarted process too) and as they change."""
    if registry is None:
        return None
    await registry.sync(backends)
    return asyncio.create_task(registry.follow(backends, settings.backend_sync_interval))


def deployment_limit(settings: Settings) -> DeploymentLimit | None:
    """DEPLOYMENT_MAX_TURNS, waited for up to QUEUE_TIMEOUT; None when unset."""
    if not settings.deployment_max_turns:
        return None
    return DeploymentLimit(settings.deployment_max_turns, settings.queue_timeout)


def _start_background(services: Services, runs: Any) -> BackgroundWorker | None:
    """Background responses and watchable chat turns, and this process's worker for them
    (none without a store)."""
    if runs is None:
        return None
    services.background = BackgroundResponses(services, runs)
    worker = BackgroundWorker(services, services.background)
    services.live = LiveTurns(services.background, worker)
    worker.start()
    return worker


TURN_PATHS = frozenset({"/v1/chat/completions", "/v1/responses"})


def _not_a_turn(scope: MutableMapping[str, Any]) -> bool:
    """Requests that are not turns get no trace (probes and scrapes would drown them)."""
    return scope.get("method") != "POST" or scope.get("path") not in TURN_PATHS


VOCABULARY_DELAY = 1.0
"""Seconds after start-up the o200k vocabulary starts loading (agent/o200k.py): its 0.3 s
holds the GIL, and loading it at once delayed the first answer to /health by as much. A
turn that counts tokens before it is loaded waits for it."""


class AgentApp(FastAPI):
    """FastAPI that leaves the server's own `send` in the scope, for a streamed turn's
    events to skip the middleware layers (api/sse.py, TurnEventStream)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SERVER_SEND] = send
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the graph and its stores are opened by the lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.start()
        store_cm = open_store(
            settings.database_url,
            settings.session_lock_timeout,
            settings.db_pool_size,
            settings.max_concurrent_turns,
            settings.db_connect_timeout,
            deployment_limit(settings),
        )
        app.state.keys = KeyRing.from_settings(settings)
        backends = BackendPool.from_settings(settings)
        async with store_cm as store, open_tools(settings) as tools, watching(backends):
            deps = AgentDeps.create(settings, tools, backends)
            graph = build_graph(deps, checkpointer=store.checkpointer)
            app.state.services = Services(
                settings=settings,
                graph=graph,
                sessions=Sessions(graph, store.health),
                store=store,
                tools=tools,
                readiness=ReadinessCheck(settings.ready_cache_seconds),
                limiter=TurnLimiter.from_settings(settings, len(app.state.keys.keys)),
                backends=backends,
            )
            worker = _start_background(app.state.services, store.runs)
            check = asyncio.create_task(warn_about_upstream(backends))
            asyncio.get_running_loop().call_later(VOCABULARY_DELAY, o200k.preload)
            following = await _follow_registry(store.registry, backends, settings)
            yield
            if worker is not None:
                await worker.stop()
            if following is not None:
                following.cancel()
            check.cancel()
            await backends.aclose()
            tracing.stop()

    app = AgentApp(
        title="oss-agent",
        version="0.1.0",
        description="An agent for gpt-oss behind the OpenAI Chat Completions API.",
        lifespan=lifespan,
        docs_url=None,  # served by api/routes/docs.py, behind the key
        redoc_url=None,
        openapi_url=None,
        # FastAPI's own OpenTelemetry server span is each turn's root; agent/tracing.py
        # sets up the provider and exporters (FastAPI's auto_configure would add a second)
        telemetry={
            "auto_configure": False,
            "exclude": _not_a_turn,
            "operation_spans": False,
            "metrics": False,
            "logs": False,
        },
    )
    app.openapi = lambda: honest_openapi(app)  # type: ignore[method-assign]
    register_exception_handlers(app, store_errors(settings.database_url))
    limits = RequestLimits.from_settings(settings)
    app.add_middleware(BodyGuard, max_bytes=settings.max_request_bytes, limits=limits)
    app.add_middleware(RequestLogMiddleware)  # outermost: logs the guard's refusals too
    app.include_router(api_router)
    app.mount("/web", page.files, name="web")
    return app
