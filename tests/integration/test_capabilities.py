"""`auto` mode against a server that refuses `tools` (vLLM <= 0.10 started without
--tool-call-parser / --enable-auto-tool-choice answers 400): the turn still works, through
the harmony strategy, which the service keeps using for that backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.integration.test_modes import STREAMED, assert_no_markup, chat
from tests.integration.tooldefs import WEATHER
from tests.upstream_sim.fixtures import SimServer
from tests.upstream_sim.tool_rules import AUTO_NEEDS_FLAGS

ASK = [{"role": "user", "content": "Weather in Paris?"}]
CALL = {"reasoning": "Need the weather.", "tool_calls": [{"name": "get_weather",
        "arguments": {"city": "Paris"}}]}  # fmt: skip


@pytest.fixture
def refusing(sim: SimServer) -> SimServer:
    sim.control.flavor("vllm", vllm_version="0.10", tool_parser=False)
    return sim


@pytest.fixture
def auto_service(sim_server: SimServer, tmp_path: Path) -> Iterator[Service]:
    svc = Service(service_env(sim_server.base_url, tmp_path, TOOLS_ENABLED="none"), tmp_path)
    yield svc.start()
    svc.stop()


@STREAMED
def test_refused_tools_fall_back_to_harmony(
    refusing: SimServer, auto_service: Service, stream: bool
) -> None:
    refusing.control.script(CALL, CALL)
    for _ in range(2):
        reply = chat(auto_service, ASK, stream=stream, tools=[WEATHER])
        assert reply.calls == [("get_weather", {"city": "Paris"})]
        assert reply.reasoning == "Need the weather."
        assert_no_markup(reply)
    paths = [r["path"] for r in refusing.control.requests() if r["method"] == "POST"]
    # the refusal is met once; after it the backend is asked through /v1/completions only
    assert paths == ["/v1/chat/completions", "/v1/completions", "/v1/completions"]
    log = auto_service.output()
    assert log.count("--tool-call-parser openai --enable-auto-tool-choice") == 1
    assert AUTO_NEEDS_FLAGS in log


def test_other_rejections_are_not_taken_for_a_refusal(
    refusing: SimServer, auto_service: Service
) -> None:
    named = {"type": "function", "function": {"name": "not_offered"}}
    with pytest.raises(openai.BadRequestError) as caught:
        chat(auto_service, ASK, stream=False, tools=[WEATHER], tool_choice=named)
    assert "does not match any of the specified `tools`" in caught.value.body["message"]
    posts = [r["path"] for r in refusing.control.requests() if r["method"] == "POST"]
    assert posts == ["/v1/chat/completions"]
