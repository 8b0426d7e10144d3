"""One model step on the backends: the least busy healthy one, and another one when it
fails before the client saw a token."""

from __future__ import annotations

import dataclasses
import time

from agent.backends import Backend, BackendPool
from agent.errors import AgentError, ReceivedCounter, UpstreamError
from agent.reply import ModelReply
from agent.request_fields import for_server
from agent.tracing import model_call
from agent.upstream import ModelCall, OnDelta, call_model

# Connection errors (also a stream dropped before any token), timeouts and 5xx: another
# backend may well answer.
RETRYABLE = frozenset(
    {"upstream_unreachable", "upstream_dropped", "upstream_timeout", "upstream_error"}
)


def no_backend(model: str | None) -> AgentError:
    """The 503 when no backend serving the model is registered."""
    return AgentError(
        f"No model server is registered for model {model!r}; register one (POST /v1/backends).",
        code="no_backend",
    )


def for_backend(call: ModelCall, backend: Backend) -> ModelCall:
    """The call as this backend takes it: its tool-call mode, its names for extra fields."""
    mode = backend.spec.mode or call.mode
    params = dict(call.params)
    extra = params.pop("extra_body", None) or {}
    sent = for_server(extra, backend.spec.server, mode)
    if sent:
        params["extra_body"] = sent
    return dataclasses.replace(call, params=params, mode=mode)


async def call_routed(pool: BackendPool, call: ModelCall, on_delta: OnDelta) -> ModelReply:
    """Run the step; retry it on another backend while nothing has reached the client."""
    model = call.params.get("model")
    tried: set[str] = set()
    while True:
        backend = pool.pick(model, tried)
        if backend is None:
            raise no_backend(model)
        watched = ReceivedCounter(on_delta)
        started = time.monotonic()
        # When another backend serves the model this loop is the retry: LLM_MAX_RETRIES
        # would ask the failing backend again first.
        alone = pool.pick(model, tried | {backend.spec.name}) is None
        server = backend.server if alone else backend.server.single_try()
        try:
            sent = for_backend(call, backend)
            with pool.busy(backend):
                async with model_call(sent, backend.spec.name, server, watched) as seen:
                    reply = await call_model(server, sent, seen.on_delta)
                    seen.finished(reply)
        except UpstreamError as exc:
            if exc.code not in RETRYABLE:
                raise
            pool.failed(backend, exc.message)
            tried.add(backend.spec.name)
            if watched.count or pool.pick(model, tried) is None:
                raise
            continue
        pool.succeeded(backend, time.monotonic() - started)
        return reply
