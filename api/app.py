"""The FastAPI application: lifespan opens the session store, tools and graph."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agent.settings import Settings, get_settings
from agent.upstream_check import probe_upstream
from api.deps import Services
from api.errors import register_exception_handlers
from api.logs import RequestLogMiddleware
from api.routes import api_router
from api.sessions import Sessions
from graph.builder import build_graph
from graph.checkpoint import open_store
from graph.deps import AgentDeps
from mcp_tools.loader import open_tools

logger = logging.getLogger(__name__)


async def warn_about_upstream(settings: Settings) -> None:
    """Say at start-up what is wrong with LLM_BASE_URL; never stops the service starting."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    probe = await probe_upstream(settings.llm_base_url, key)
    if probe.ok:
        logger.info("model server at %s answers", probe.url)
    elif probe.problem:
        logger.warning("LLM_BASE_URL: %s; starting anyway", probe.problem)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the graph and its stores are opened by the lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store_cm = open_store(
            settings.database_url, settings.session_lock_timeout, settings.db_pool_size
        )
        async with store_cm as store, open_tools(settings) as tools:
            graph = build_graph(AgentDeps.create(settings, tools), checkpointer=store.checkpointer)
            app.state.services = Services(
                settings=settings,
                graph=graph,
                sessions=Sessions(graph),
                locks=store.locks,
                tools=tools,
                checkpointer=store.checkpointer,
            )
            check = asyncio.create_task(warn_about_upstream(settings))
            yield
            check.cancel()

    app = FastAPI(
        title="oss-agent",
        version="0.1.0",
        description="An agent for gpt-oss behind the OpenAI Chat Completions API.",
        lifespan=lifespan,
    )
    register_exception_handlers(app)
    app.add_middleware(RequestLogMiddleware)
    app.include_router(api_router)
    return app
