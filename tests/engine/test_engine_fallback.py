"""oss-agent in `auto` mode against a vLLM started without --tool-call-parser.

vLLM 0.32 then still renders the tools for gpt-oss, but drops the model's calls: the reply
ends on <|call|> (stop_reason 200012) with no tool_calls. The agent must notice, redo the
step with the harmony strategy (raw /v1/completions), remember that for the backend and
say once in its log how to enable native calling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine import scripts
from tests.engine.conftest import ENGINE, agent_service
from tests.engine.engine import Engine
from tests.engine.scripts import prompt_for
from tests.integration.service import Service
from tests.integration.test_modes import STREAMED, assert_no_markup, chat
from tests.integration.tooldefs import WEATHER

pytestmark = ENGINE

HINT = "--tool-call-parser openai --enable-auto-tool-choice"


@pytest.fixture(scope="module")
def auto_on_plain(
    plain_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    svc = agent_service(plain_engine, tmp_path_factory.mktemp("auto-plain"), TOOL_CALL_MODE="auto")
    yield svc
    svc.stop()


@STREAMED
@pytest.mark.parametrize("script", ["call", "preamble", "garbled"])
def test_calls_survive_a_server_without_tool_parser(
    auto_on_plain: Service, stream: bool, script: str
) -> None:
    reply = chat(auto_on_plain, [{"role": "user", "content": prompt_for(script)}],
                 stream=stream, tools=[WEATHER])  # fmt: skip
    assert reply.calls == [("get_weather", {"city": "Paris"})]
    assert reply.finish_reason == "tool_calls"
    assert_no_markup(reply)


def test_answers_and_server_tools_still_work(auto_on_plain: Service) -> None:
    answer = chat(auto_on_plain, [{"role": "user", "content": prompt_for("answer")}], stream=False)
    assert (answer.content, answer.reasoning) == (scripts.ANSWER, scripts.REASONING)
    looped = chat(auto_on_plain, [{"role": "user", "content": prompt_for("calculator")}],
                  stream=True)  # fmt: skip
    assert (looped.content, looped.calls) == (scripts.AFTER_TOOL_ANSWER, [])


def test_the_fallback_is_remembered_and_logged_once(auto_on_plain: Service) -> None:
    for _ in range(2):
        reply = chat(auto_on_plain, [{"role": "user", "content": prompt_for("call")}],
                     stream=False, tools=[WEATHER])  # fmt: skip
        assert reply.calls == [("get_weather", {"city": "Paris"})]
    log = auto_on_plain.output()
    assert log.count(HINT) == 1, log[-3000:]
    assert "sent no tool call" in log and "harmony strategy" in log
