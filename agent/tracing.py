"""OpenTelemetry traces of what a turn did, by the GenAI semantic conventions.

Off unless the standard variables ask for it: OTEL_TRACES_EXPORTER (otlp, console; "none"
is off) or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
OTEL_SDK_DISABLED=true wins. The SDK reads the rest itself (headers, sampler, service name,
batch sizes). When off, every hook here is a no-op: no provider, no exporter thread.

Model-call spans are `chat {model}` (gen_ai.operation.name=chat) and tool spans
`execute_tool {name}`; message content is recorded only with
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true. The Prometheus metrics of the same
steps (time to first token, tokens per second, tool latency, errors by backend) are observed
here too, so each step has one hook.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from importlib.metadata import entry_points
from typing import Any, TypeVar
from urllib.parse import urlsplit

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from agent.errors import AgentError
from agent.llm.http import ModelServer
from agent.llm.langchain_run import llm_run_ended, llm_run_failed, llm_run_started
from agent.llm.step_io import Deltas, ModelCall, ModelReply
from agent.messages import content_text
from agent.metrics import (
    MODEL_CALL_ERRORS,
    MODEL_CALL_SECONDS,
    OUTPUT_TOKENS_PER_SECOND,
    TIME_TO_FIRST_TOKEN,
    TOOL_SECONDS,
)

logger = logging.getLogger(__name__)
CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_OTLP_BY_PROTOCOL = {"http/protobuf": "otlp_proto_http", "grpc": "otlp_proto_grpc"}
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}

_tracer: trace.Tracer | None = None
_provider: Any = None
_capture = False

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def exporter_names(env: Mapping[str, str]) -> list[str]:
    """The span exporters the OTEL_* variables ask for ([] when tracing is off)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not names:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ["otlp"] if endpoint else []
    return [name.strip() for name in names.split(",") if name.strip() not in ("", "none")]


def start(env: Mapping[str, str] | None = None) -> bool:
    """Set up tracing from the environment; True when it is on."""
    global _tracer, _provider, _capture
    env = os.environ if env is None else env
    names = exporter_names(env)
    if not names or _provider is not None:
        return _provider is not None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: "oss-agent"}
    provider = TracerProvider(resource=Resource.create(named))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, env)()))
    trace.set_tracer_provider(provider)
    _provider, _tracer = provider, provider.get_tracer("oss-agent")
    _capture = env.get(CAPTURE_CONTENT, "").strip().lower() == "true"
    logger.info("OpenTelemetry tracing on: spans go to %s", ", ".join(names))
    return True


def stop() -> None:
    """Send the spans still queued and stop the exporter threads."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None


def enabled() -> bool:
    """Whether spans are being made."""
    return _tracer is not None


def _exporter(name: str, env: Mapping[str, str]) -> Any:
    """The exporter class registered under `name` (otlp: by OTEL_EXPORTER_OTLP_PROTOCOL)."""
    if name == "otlp":
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        name = _OTLP_BY_PROTOCOL.get(protocol.strip(), protocol)
    found = entry_points(group="opentelemetry_traces_exporter", name=name)
    if not found:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed; this service "
            "ships otlp (http/protobuf) and console"
        )
    return next(iter(found)).load()


@contextmanager
def span(
    name: str, attributes: dict[str, Any] | None = None, kind: SpanKind = SpanKind.INTERNAL
) -> Iterator[Span | None]:
    """A child span of the current one around the block (None when tracing is off). An
    exception marks it failed; a cancellation too, with error.type `cancelled`."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, kind=kind, attributes=attributes) as current:
        try:
            yield current
        except Exception as exc:
            current.set_attribute("error.type", _error_type(exc))
            raise
        except (asyncio.CancelledError, GeneratorExit):
            current.set_attribute("error.type", "cancelled")
            current.set_status(Status(StatusCode.ERROR, "cancelled"))
            raise


def traced(name: str) -> Callable[[F], F]:
    """Run an async function in a span named `name`."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        async def run(*args: Any, **kwargs: Any) -> Any:
            if _tracer is None:
                return await function(*args, **kwargs)
            with span(name):
                return await function(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap


def annotate(**attributes: Any) -> None:
    """Add attributes to the current span (dots for underscores in the names)."""
    if _tracer is None:
        return
    current = trace.get_current_span()
    for key, value in attributes.items():
        if value is not None:
            current.set_attribute(key.replace("__", "."), value)


def current_ids() -> tuple[str, str] | None:
    """The current trace and span ids in hex, for log lines (None outside a span)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class ModelCallWatch:
    """One model call as seen from outside: when its first delta came, how many reached
    the client, how it ended."""

    def __init__(self, backend: str, stream: bool) -> None:
        self.backend = backend
        self.stream = stream
        self.started = time.perf_counter()
        self.first: float | None = None
        self.received = 0
        self.span: Span | None = None
        self.reply: ModelReply | None = None

    def passed(self, deltas: Deltas) -> None:
        """Count the deltas of a read on their way to the client (about a token each); the
        first is the time to first token."""
        self.received += len(deltas)
        if self.first is None:
            self.first = time.perf_counter()
            if self.span is not None:
                self.span.add_event("gen_ai.first_token")

    def finished(self, reply: ModelReply) -> None:
        """Record the reply's usage, finish reason and speed."""
        self.reply = reply
        ended = time.perf_counter()
        MODEL_CALL_SECONDS.labels(self.backend).observe(ended - self.started)
        output = reply.usage.get("completion_tokens", 0)
        if self.stream and self.first is not None:
            TIME_TO_FIRST_TOKEN.labels(self.backend).observe(self.first - self.started)
            if output > 1 and ended > self.first:
                OUTPUT_TOKENS_PER_SECOND.labels(self.backend).observe(output / (ended - self.first))
        if self.span is None:
            return
        self.span.set_attributes(
            {
                "gen_ai.response.finish_reasons": [reply.finish_reason],
                "gen_ai.usage.input_tokens": reply.usage.get("prompt_tokens", 0),
                "gen_ai.usage.output_tokens": output,
            }
        )
        if self.first is not None:
            first_chunk = self.first - self.started
            self.span.set_attribute("gen_ai.response.time_to_first_chunk", first_chunk)
        if _capture:
            self.span.set_attribute("gen_ai.output.messages", _json([_reply_message(reply)]))


@asynccontextmanager
async def model_call(
    call: ModelCall, backend: str, server: ModelServer
) -> AsyncIterator[ModelCallWatch]:
    """Watch one model call on one backend: a `chat` span, the model-call metrics, and a
    LangChain LLM run when LangSmith (or Studio) listens."""
    model = call.params.get("model") or server.model
    provider = server.kind.value
    run = await llm_run_started(call, model, provider)
    watch = ModelCallWatch(backend, call.stream)
    attributes = None if _tracer is None else _request_attributes(backend, server, model, call)
    if _capture and attributes is not None:
        attributes["gen_ai.input.messages"] = _json([_message(m) for m in call.messages])
    try:
        with span(f"chat {model}", attributes, SpanKind.CLIENT) as current:
            watch.span = current
            yield watch
    except BaseException as exc:
        if isinstance(exc, Exception):
            MODEL_CALL_ERRORS.labels(backend, _error_type(exc)).inc()
        await llm_run_failed(run, exc)
        raise
    if watch.reply is not None:
        await llm_run_ended(run, model, watch.reply)


@contextmanager
def tool_call(
    name: str, call_id: str, source: str, arguments: Any
) -> Iterator[Callable[[ToolMessage], None]]:
    """Watch one server tool run: an `execute_tool` span and its latency by tool. Yields a
    function to call with the tool message it answered."""
    started = time.perf_counter()
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "function",
        "oss_agent.tool.source": source,
    }
    if _capture and _tracer is not None:
        attributes["gen_ai.tool.call.arguments"] = _json(arguments)
    result = ["cancelled"]  # run_tool turns every failure into an error message
    with span(f"execute_tool {name}", attributes) as current:

        def answered(message: ToolMessage) -> None:
            result[0] = message.status
            if current is None:
                return
            text = content_text(message.content)
            if message.status == "error":  # its text may quote the arguments: content
                current.set_attribute("error.type", "tool_error")
                current.set_status(Status(StatusCode.ERROR, text[:200] if _capture else None))
            if _capture:
                current.set_attribute("gen_ai.tool.call.result", text)

        try:
            yield answered
        finally:
            TOOL_SECONDS.labels(name, result[0]).observe(time.perf_counter() - started)


def _request_attributes(
    backend: str, server: ModelServer, model: str, call: ModelCall
) -> dict[str, Any]:
    address = urlsplit(server.base_url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": server.kind.value,
        "gen_ai.system": server.kind.value,
        "gen_ai.request.model": model,
        "server.address": address.hostname or "",
        "oss_agent.backend": backend,
        "oss_agent.tool_call_mode": call.mode.value,
        "oss_agent.stream": call.stream,
    }
    if address.port:
        attributes["server.port"] = address.port
    params = call.params
    for key, name in (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("max_tokens", "gen_ai.request.max_tokens"),
    ):
        if params.get(key) is not None:
            attributes[name] = params[key]
    if params.get("stop"):
        attributes["gen_ai.request.stop_sequences"] = list(params["stop"])
    return attributes


def _error_type(exc: BaseException) -> str:
    if isinstance(exc, AgentError) and exc.code:
        return exc.code
    return type(exc).__qualname__


def _message(message: BaseMessage) -> dict[str, Any]:
    """A message in the conventions' shape: role and parts."""
    parts: list[dict[str, Any]] = []
    if isinstance(message, ToolMessage):
        parts.append(
            {
                "type": "tool_call_response",
                "id": message.tool_call_id,
                "response": content_text(message.content),
            }
        )
    elif text := content_text(message.content):
        parts.append({"type": "text", "content": text})
    if isinstance(message, AIMessage):
        parts += [
            {"type": "tool_call", "id": c["id"], "name": c["name"], "arguments": c["args"]}
            for c in message.tool_calls
        ]
    return {"role": _ROLES.get(message.type, message.type), "parts": parts}


def _reply_message(reply: ModelReply) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if reply.reasoning:
        parts.append({"type": "reasoning", "content": reply.reasoning})
    if reply.content:
        parts.append({"type": "text", "content": reply.content})
    parts += [
        {"type": "tool_call", "id": c["id"], "name": c["name"], "arguments": c["args"]}
        for c in reply.tool_calls
    ]
    return {"role": "assistant", "parts": parts, "finish_reason": reply.finish_reason}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
