"""gpt-oss's own python tool against a real vLLM (scripted gpt-oss model): the model calls
`to=python` on the analysis channel, the sandbox runs the code, and the model's final answer
quotes the result, streamed and not, through both APIs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import scripts
from tests.engine.conftest import ENGINE, agent_service, tool_results
from tests.engine.engine import Engine
from tests.engine.scripts import prompt_for
from tests.integration.service import Service
from tests.integration.test_modes import STREAMED, assert_no_markup, chat

pytestmark = ENGINE

ASK = [{"role": "user", "content": prompt_for("python")}]


@pytest.fixture(scope="module", params=["harmony", "auto"])
def python_agent(
    request: pytest.FixtureRequest, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """oss-agent offering python, its workspace reachable by the sandbox's user."""
    workspace = Path(tempfile.mkdtemp(prefix="engine-py-"))
    os.chmod(workspace, 0o755)
    svc = agent_service(
        engine,
        tmp_path_factory.mktemp(f"python-{request.param}"),
        TOOL_CALL_MODE=request.param,
        BUILTIN_TOOLS="python",
        TOOLS_WORKSPACE=str(workspace),
    )
    yield svc
    svc.stop()


@STREAMED
def test_python_runs_and_the_answer_quotes_it(python_agent: Service, stream: bool) -> None:
    reply = chat(python_agent, ASK, stream=stream)
    assert reply.content == scripts.AFTER_PYTHON_ANSWER
    assert reply.calls == [] and reply.finish_reason == "stop"
    assert scripts.PYTHON_REASONING in (reply.reasoning or "")
    assert tool_results(python_agent, reply.session) == [("python", "42")]
    assert_no_markup(reply)


def test_responses_api_shows_the_code_interpreter_call(python_agent: Service) -> None:
    response = python_agent.client().responses.create(
        model="m", input=ASK[0]["content"], tools=[{"type": "code_interpreter"}]
    )
    calls = [item for item in response.output if item.type == "code_interpreter_call"]
    assert [(c.code, c.outputs[0].logs) for c in calls] == [(scripts.PYTHON_CODE, "42")]
    assert response.output_text == scripts.AFTER_PYTHON_ANSWER
