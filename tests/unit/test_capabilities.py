"""What a backend learns (agent/llm/backend.py): which 400s mean "no native tools", a
swallowed call, and its context length."""

from __future__ import annotations

import httpx
import pytest

from agent.llm.backend import Backend, fallback_mode, refuses_tools, swallowed_call
from agent.llm.backend_config import single_backend
from agent.llm.failures import UpstreamStatus
from agent.llm.http import ModelHttp, model_server
from agent.settings import Settings, ToolCallMode, UpstreamKind
from agent.toolcalls.types import ToolCall
from tests.upstream_sim.fixtures import SimServer
from tests.upstream_sim.tool_rules import AUTO_NEEDS_FLAGS, NAMED_NOT_OFFERED


def bad_request(message: str, status: int = 400) -> UpstreamStatus:
    body = {"error": {"message": message, "type": "BadRequestError", "code": status}}
    return UpstreamStatus(status, body, httpx.Headers())


@pytest.mark.parametrize(
    "message",
    [AUTO_NEEDS_FLAGS, "tools is not supported by this model", "model does not support tools"],
)
def test_tool_refusals_are_recognised(message: str) -> None:
    assert refuses_tools(bad_request(message))


@pytest.mark.parametrize(
    "message", [NAMED_NOT_OFFERED, "temperature must be non-negative", "Input length exceeds"]
)
def test_other_rejections_are_not_refusals(message: str) -> None:
    assert not refuses_tools(bad_request(message))
    assert not refuses_tools(bad_request(AUTO_NEEDS_FLAGS, status=500))


def test_swallowed_call_needs_the_call_token_and_no_call() -> None:
    assert swallowed_call(200012, [])
    assert swallowed_call("<|call|>", [])
    assert not swallowed_call(200012, ["a call"])
    assert not swallowed_call(None, [])
    assert not swallowed_call(200002, [])


def test_a_call_recovered_from_the_text_was_not_sent() -> None:
    read = ToolCall("browser_search", {"query": "otters"}, recovered=True)
    sent = ToolCall("browser_search", {"query": "otters"})
    assert swallowed_call(200012, [read])
    assert not swallowed_call(200012, [read, sent])


def test_fallback_is_harmony_on_vllm_and_prompt_elsewhere() -> None:
    assert fallback_mode(UpstreamKind.VLLM) is ToolCallMode.HARMONY
    for kind in (UpstreamKind.OLLAMA, UpstreamKind.LLAMACPP, UpstreamKind.OPENAI):
        assert fallback_mode(kind) is ToolCallMode.PROMPT


def _backend(base_url: str, model: str, http: ModelHttp) -> Backend:
    settings = Settings(_env_file=None, llm_base_url=base_url, llm_model=model)
    spec = single_backend(settings)
    return Backend(spec, model_server(settings, spec, http))


async def test_context_length_is_read_from_the_models_list(sim: SimServer) -> None:
    model = httpx.get(f"{sim.base_url}/models").json()["data"][0]["id"]
    http = ModelHttp(30)
    backend = _backend(sim.base_url.replace("127.0.0.1", "localhost"), model, http)
    try:
        assert await backend.context_length() == 131072
        unserved = _backend(sim.base_url, "not-served", http)
        assert await unserved.context_length() is None
        asked = len(sim.control.requests("/v1/models"))
        assert await backend.context_length() == 131072
        assert await backend.reported_window() == 131072
        assert len(sim.control.requests("/v1/models")) == asked  # asked once per backend
    finally:
        await http.aclose()
