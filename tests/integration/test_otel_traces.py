"""OpenTelemetry traces through the running service, exported over OTLP/HTTP to a receiver
in this process: the span tree of a turn, GenAI attributes, failures, cancellation, and
nothing at all when tracing is off."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent import tracing
from tests.integration.conftest import service_env
from tests.integration.otlp_receiver import OtlpReceiver, ReceivedSpan, running_receiver
from tests.integration.service import Service
from tests.mcp_servers.harness import stdio_entry
from tests.upstream_sim.fixtures import SimServer

CALL_STEP = {
    "content": "Let me compute.",
    "tool_calls": [{"id": "call_abc", "name": "calculator", "arguments": {"expression": "25*8"}}],
    "usage": {"prompt_tokens": 123, "completion_tokens": 17, "total_tokens": 140},
}
ANSWER_STEP = {
    "content": "It is 200.",
    "usage": {"prompt_tokens": 150, "completion_tokens": 5, "total_tokens": 155},
}
ERROR = 2


@pytest.fixture(scope="module")
def otlp() -> Iterator[tuple[str, OtlpReceiver]]:
    with running_receiver() as running:
        yield running


def traced_env(sim: SimServer, workdir: Path, endpoint: str, **extra: str) -> dict[str, str]:
    return service_env(
        sim.base_url,
        workdir,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_SERVICE_NAME="oss-agent-under-test",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        **extra,
    )


@pytest.fixture(scope="module")
def traced(
    sim_server: SimServer, otlp: tuple[str, OtlpReceiver], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("traced")
    mcp_config = workdir / "mcp.json"
    mcp_config.write_text(json.dumps({"mcpServers": {"local": stdio_entry()}}))
    env = traced_env(sim_server, workdir, otlp[0], USE_MCP_TOOLS="true", MCP_CONFIG=str(mcp_config))
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _stream(svc: Service, text: str, traceparent: str) -> str:
    """The streamed answer's content."""
    body = {"stream": True, "messages": [{"role": "user", "content": text}]}
    headers = {"traceparent": traceparent}
    with httpx.stream(
        "POST", f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        chunks = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")
        ]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _trace(receiver: OtlpReceiver, trace_id: str, root_ended: bool = True) -> list[ReceivedSpan]:
    def complete(spans: list[ReceivedSpan]) -> bool:
        return any(s.trace_id == trace_id and s.kind == "SERVER" for s in spans)

    return [s for s in receiver.wait_for(complete) if s.trace_id == trace_id]


def _under(spans: list[ReceivedSpan], root: ReceivedSpan) -> list[ReceivedSpan]:
    """Every descendant of `root`."""
    found, frontier = [], {root.span_id}
    while frontier:
        children = [s for s in spans if s.parent_id in frontier]
        found += children
        frontier = {s.span_id for s in children}
    return found


def _ops(spans: list[ReceivedSpan], operation: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.attributes.get("gen_ai.operation.name") == operation]


def test_streamed_turn_with_a_tool_call_is_one_trace_joined_to_the_caller(
    traced: Service, sim: SimServer, otlp: tuple[str, OtlpReceiver]
) -> None:
    sim.control.script(CALL_STEP, ANSWER_STEP)
    traceparent, trace_id, caller_span = _traceparent()
    assert _stream(traced, "What is 25*8?", traceparent).endswith("It is 200.")
    spans = _trace(otlp[1], trace_id)
    (root,) = [s for s in spans if s.kind == "SERVER"]
    assert root.parent_id == caller_span  # joined to the caller's trace
    assert root.name == "POST /v1/chat/completions"
    assert root.service == "oss-agent-under-test"
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["gen_ai.conversation.id"]
    below = _under(spans, root)
    assert len(below) == len(spans) - 1  # every span of the turn hangs under the root
    names = [s.name for s in below]
    for step in ("oss_agent.session_lock", "oss_agent.queue_wait", "oss_agent.checkpoint_save"):
        assert names.count(step) == 1, names
    assert names.count("oss_agent.context_fit") == 2

    first, second = _ops(below, "chat")
    assert first.kind == second.kind == "CLIENT"
    for model_span in (first, second):
        attributes = model_span.attributes
        assert model_span.name == f"chat {attributes['gen_ai.request.model']}"
        assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "vllm"
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["gen_ai.response.time_to_first_chunk"] >= 0
        assert "gen_ai.first_token" in model_span.events
        assert "gen_ai.input.messages" not in attributes  # content capture is off
    assert first.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert first.attributes["gen_ai.usage.input_tokens"] == 123
    assert first.attributes["gen_ai.usage.output_tokens"] == 17
    assert second.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert second.attributes["gen_ai.usage.output_tokens"] == 5

    (tool,) = _ops(below, "execute_tool")
    assert tool.name == "execute_tool calculator"
    assert tool.attributes["gen_ai.tool.name"] == "calculator"
    assert tool.attributes["gen_ai.tool.call.id"] == "call_abc"
    assert tool.attributes["oss_agent.tool.source"] == "builtin"
    assert tool.status != ERROR

    logged = [json.loads(line) for line in traced.output().splitlines() if line.startswith("{")]
    access = [line for line in logged if line.get("logger") == "oss_agent.access"]
    assert any(line.get("trace_id") == trace_id for line in access)


def test_mcp_tool_calls_are_execute_tool_spans(
    traced: Service, sim: SimServer, otlp: tuple[str, OtlpReceiver]
) -> None:
    calls = [
        {"id": "call_add", "name": "add", "arguments": {"a": 2, "b": 3}},
        {"id": "call_fail", "name": "fail", "arguments": {"message": "no luck"}},
    ]
    sim.control.script({"tool_calls": calls}, {"content": "done"})
    traceparent, trace_id, _ = _traceparent()
    assert _stream(traced, "use the MCP tools", traceparent).endswith("done")
    tools = {
        s.attributes["gen_ai.tool.call.id"]: s
        for s in _ops(_trace(otlp[1], trace_id), "execute_tool")
    }
    assert tools.keys() == {"call_add", "call_fail"}
    for tool in tools.values():
        assert tool.attributes["oss_agent.tool.source"] == "local"  # the MCP server's name
    assert tools["call_add"].name == "execute_tool add"
    assert tools["call_add"].status != ERROR
    assert tools["call_fail"].status == ERROR
    assert tools["call_fail"].attributes["error.type"] == "tool_error"


def test_failed_model_call_marks_its_span_and_the_root(
    traced: Service, sim: SimServer, otlp: tuple[str, OtlpReceiver]
) -> None:
    sim.control.script({"fault": "error500", "message": "engine fell over"})
    traceparent, trace_id, _ = _traceparent()
    body = {"messages": [{"role": "user", "content": "fail please"}]}
    response = httpx.post(
        f"{traced.url}/v1/chat/completions",
        json=body,
        headers={"traceparent": traceparent},
        timeout=30,
    )
    assert response.status_code >= 500
    spans = _trace(otlp[1], trace_id)
    (root,) = [s for s in spans if s.kind == "SERVER"]
    assert root.status == ERROR
    assert root.attributes["http.response.status_code"] == response.status_code
    (model_span,) = _ops(spans, "chat")
    assert model_span.status == ERROR
    assert model_span.attributes["error.type"] == response.json()["error"]["code"]
    assert "oss_agent.checkpoint_save" not in [s.name for s in spans]
    metrics = httpx.get(f"{traced.url}/metrics", timeout=10).text
    code = response.json()["error"]["code"]
    assert f'oss_agent_model_call_errors_total{{backend="default",code="{code}"}}' in metrics


def test_cancelled_turn_ends_its_model_span_as_cancelled(
    traced: Service, sim: SimServer, otlp: tuple[str, OtlpReceiver]
) -> None:
    sim.control.script({"content": "word " * 400, "chunk_size": 5, "chunk_delay": 0.05})
    traceparent, trace_id, _ = _traceparent()
    body = {"stream": True, "messages": [{"role": "user", "content": "talk slowly"}]}
    with httpx.stream(
        "POST",
        f"{traced.url}/v1/chat/completions",
        json=body,
        headers={"traceparent": traceparent},
        timeout=30,
    ) as response:
        assert any('"content": "word' in line for line in response.iter_lines())

    def model_span_ended(spans: list[ReceivedSpan]) -> bool:
        return any(s.trace_id == trace_id and s.name.startswith("chat ") for s in spans)

    spans = [s for s in otlp[1].wait_for(model_span_ended) if s.trace_id == trace_id]
    (model_span,) = _ops(spans, "chat")
    assert model_span.attributes["error.type"] == "cancelled"
    assert model_span.status == ERROR
    spans = _trace(otlp[1], trace_id)
    assert "oss_agent.checkpoint_save" not in [s.name for s in spans]  # nothing was stored


def test_message_content_is_recorded_only_when_asked(
    sim_server: SimServer, sim: SimServer, otlp: tuple[str, OtlpReceiver], tmp_path: Path
) -> None:
    env = traced_env(
        sim_server, tmp_path, otlp[0], OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="true"
    )
    svc = Service(env, tmp_path).start()
    try:
        sim.control.script(CALL_STEP, ANSWER_STEP)
        traceparent, trace_id, _ = _traceparent()
        _stream(svc, "What is 25*8, secretly?", traceparent)
        spans = _trace(otlp[1], trace_id)
    finally:
        svc.stop()
    first, second = _ops(spans, "chat")
    sent = json.loads(first.attributes["gen_ai.input.messages"])
    assert sent[-1] == {
        "role": "user",
        "parts": [{"type": "text", "content": "What is 25*8, secretly?"}],
    }
    (answer,) = json.loads(second.attributes["gen_ai.output.messages"])
    assert answer["parts"][-1] == {"type": "text", "content": "It is 200."}
    (tool,) = _ops(spans, "execute_tool")
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"expression": "25*8"}
    assert "200" in tool.attributes["gen_ai.tool.call.result"]


def test_no_spans_when_tracing_is_off(
    sim_server: SimServer, sim: SimServer, otlp: tuple[str, OtlpReceiver], tmp_path: Path
) -> None:
    env = traced_env(sim_server, tmp_path, otlp[0], OTEL_TRACES_EXPORTER="none")
    svc = Service(env, tmp_path).start()
    traceparent, trace_id, _ = _traceparent()
    _stream(svc, "nobody watches", traceparent)
    svc.stop()  # a tracing SDK would flush what it holds on exit
    assert not [s for s in otlp[1].spans if s.trace_id == trace_id]
    assert "trace_id" not in svc.output()


def _exporter_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "Otel" in t.name or "BatchSpan" in t.name]


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, False),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
    ],
)
def test_exporter_threads_run_only_when_tracing_is_on(env: dict[str, str], on: bool) -> None:
    assert not _exporter_threads()
    try:
        assert tracing.start(env) is on
        assert bool(_exporter_threads()) is on
        assert tracing.enabled() is on
    finally:
        tracing.stop()
    assert not _exporter_threads()
