"""gpt-oss's python tool through the running service and the upstream simulator: harmony
and auto modes, streamed and not, the stream equal to the stored turn (issue 19)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

PYTHON_CALL = (
    "<|channel|>analysis<|message|>Let me compute.<|end|>"
    "<|start|>assistant<|channel|>analysis to=python code<|message|>print(6*7)<|call|>"
)
FINAL = "<|channel|>analysis<|message|>It printed 42.<|end|><|start|>assistant<|channel|>final<|message|>The answer is 42.<|return|>"  # noqa: E501
ASK = [{"role": "user", "content": "What is 6*7? Use python."}]
RESULT = "<|start|>python to=assistant<|channel|>analysis<|message|>42<|end|>"
STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])


def start(sim_server: SimServer, workdir: Path, **env: str) -> Service:
    """A service offering python; its workspace reachable by the sandbox's user."""
    workspace = Path(tempfile.mkdtemp(prefix="pyws-"))
    os.chmod(workspace, 0o755)
    settings = {"BUILTIN_TOOLS": "python", "TOOLS_WORKSPACE": str(workspace), **env}
    return Service(service_env(sim_server.base_url, workdir, **settings), workdir).start()


@pytest.fixture(scope="module")
def harmony(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start(sim_server, tmp_path_factory.mktemp("harmony"), TOOL_CALL_MODE="harmony")
    yield service
    service.stop()


@pytest.fixture(scope="module")
def auto(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start(sim_server, tmp_path_factory.mktemp("auto"))
    yield service
    service.stop()


def turn(
    service: Service, stream: bool, session: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One turn as the client saw it (content, reasoning, tool activity) and its session."""
    body = {"model": "m", "messages": ASK, "stream": stream, "tool_activity": True, **extra}
    headers = {"X-Session-ID": session} if session else {}
    with service.http() as http:
        if not stream:
            response = http.post("/v1/chat/completions", json=body, headers=headers)
            assert response.status_code == 200, response.text
            message = response.json()["choices"][0]["message"]
            return {
                "content": message["content"],
                "reasoning": message.get("reasoning"),
                "activity": message.get("tool_activity") or [],
                "session": response.headers["x-session-id"],
            }
        content, reasoning, activity = "", "", []
        with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                delta = json.loads(line[6:])["choices"][0]["delta"]
                content += delta.get("content") or ""
                reasoning += delta.get("reasoning") or ""
                activity += [delta["tool_activity"]] if "tool_activity" in delta else []
            session_id = response.headers["x-session-id"]
    return {"content": content, "reasoning": reasoning, "activity": activity, "session": session_id}


def stored_turn(service: Service, session: str) -> list[dict[str, Any]]:
    with service.http() as http:
        return http.get(f"/v1/sessions/{session}").json()["messages"]


def prompts(sim: SimServer) -> list[str]:
    return [body["prompt"] for body in sim.control.bodies("/v1/completions")]


@STREAMED
def test_harmony_python_call_result_and_answer(
    harmony: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script({"text": PYTHON_CALL}, {"text": FINAL})
    reply = turn(harmony, stream)
    assert reply["content"] == "The answer is 42."
    first, second = prompts(sim)
    system = first.split("<|end|>", 1)[0]
    assert (
        "# Tools\n\n## python\n\n" in system
        and "Internet access for this session is disabled" in system
    )
    assert "functions.python" not in first and "type python =" not in first
    assert (
        "<|start|>assistant<|channel|>analysis to=python code<|message|>print(6*7)<|call|>" + RESULT
    ) in second
    finished = [e for e in reply["activity"] if e["type"] == "finished"]
    assert [(e["name"], e["result"], e["error"]) for e in finished] == [("python", "42", None)]
    messages = stored_turn(harmony, reply["session"])
    answer = messages[-1]
    assert answer["role"] == "assistant" and answer["content"] == reply["content"]
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["42"]
    shown = reply["reasoning"] or ""
    assert "Let me compute." in shown and "It printed 42." in shown


def test_state_lives_on_between_turns_of_a_session(harmony: Service, sim: SimServer) -> None:
    call = PYTHON_CALL.replace("print(6*7)", "x = 41")
    sim.control.script({"text": call}, {"text": FINAL})
    first = turn(harmony, False)
    call = PYTHON_CALL.replace("print(6*7)", "x + 1")
    sim.control.script({"text": call}, {"text": FINAL})
    turn(harmony, False, session=first["session"])
    assert RESULT in prompts(sim)[-1]
    sim.control.script({"text": call}, {"text": FINAL})
    other = turn(harmony, False)  # another session has no x
    assert "NameError" in json.dumps(other["activity"])


def test_a_python_call_without_the_tool_is_not_an_empty_reply(
    harmony: Service, sim: SimServer
) -> None:
    """Issue 19: the model calls python on its own; it used to come back as an empty reply.
    Without the tool (opted out) the model is told, and answers."""
    sim.control.script({"text": PYTHON_CALL}, {"text": FINAL})
    reply = turn(harmony, False, builtin_tools=False)
    assert reply["content"] == "The answer is 42."
    first, second = prompts(sim)
    assert "## python" not in first
    assert "Unknown tool 'python'" in second


@STREAMED
@pytest.mark.parametrize(
    "step",
    [
        {"content": PYTHON_CALL},
        {"content": None, "tool_calls": [{"name": "python", "arguments": "print(6*7)"}]},
        {
            "content": None,
            "tool_calls": [
                {"name": "python<|channel|>analysis", "arguments": {"code": "print(6*7)"}}
            ],
        },
    ],
    ids=["harmony-text-in-content", "raw-code-arguments", "garbled-name"],
)
def test_auto_mode_runs_python_however_the_server_returns_it(
    auto: Service, sim: SimServer, stream: bool, step: dict[str, Any]
) -> None:
    sim.control.script(step, {"content": "The answer is 42."})
    reply = turn(auto, stream)
    assert reply["content"] == "The answer is 42."
    first, second = sim.control.bodies()
    assert "python" in [t["function"]["name"] for t in first["tools"]]
    results = [m for m in second["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in results] == ["42"]
    assert stored_turn(auto, reply["session"])[-1]["content"] == reply["content"]


CODE_EVENTS = [
    "response.output_item.added",
    "response.code_interpreter_call.in_progress",
    "response.code_interpreter_call_code.delta",
    "response.code_interpreter_call_code.done",
    "response.code_interpreter_call.interpreting",
    "response.code_interpreter_call.completed",
    "response.output_item.done",
]


def responses_turn(service: Service, stream: bool) -> tuple[dict[str, Any], list[str]]:
    """The response object (the completed event's when streamed) and the event types."""
    body = {
        "model": "m",
        "input": ASK[0]["content"],
        "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}],
        "stream": stream,
    }
    with service.http() as http:
        if not stream:
            response = http.post("/v1/responses", json=body)
            assert response.status_code == 200, response.text
            return response.json(), []
        events = []
        with http.stream("POST", "/v1/responses", json=body) as response:
            assert response.status_code == 200
            events = [
                json.loads(line[6:]) for line in response.iter_lines() if line[:6] == "data: "
            ]
    return events[-1]["response"], [e["type"] for e in events]


@STREAMED
def test_responses_api_shows_a_code_interpreter_call(
    harmony: Service, sim: SimServer, stream: bool
) -> None:
    sim.control.script({"text": PYTHON_CALL}, {"text": FINAL})
    response, kinds = responses_turn(harmony, stream)
    assert response["status"] == "completed"
    [call] = [item for item in response["output"] if item["type"] == "code_interpreter_call"]
    assert call["code"] == "print(6*7)" and call["status"] == "completed"
    assert call["outputs"] == [{"type": "logs", "logs": "42"}]
    [message] = [item for item in response["output"] if item["type"] == "message"]
    assert message["content"][0]["text"] == "The answer is 42."
    if stream:
        start = kinds.index("response.code_interpreter_call.in_progress") - 1
        assert kinds[start : start + len(CODE_EVENTS)] == CODE_EVENTS
    with harmony.http() as http:
        stored = http.get(f"/v1/responses/{response['id']}").json()
    assert stored["output"] == response["output"]


def test_a_python_call_waits_for_approval_when_asked(
    sim_server: SimServer, sim: SimServer, tmp_path: Path
) -> None:
    """TOOLS_REQUIRE_APPROVAL=python: the code runs only once a person says yes."""
    service = start(sim_server, tmp_path, TOOL_CALL_MODE="harmony", TOOLS_REQUIRE_APPROVAL="python")
    try:
        sim.control.script({"text": PYTHON_CALL}, {"text": FINAL})
        with service.http() as http:
            first = http.post("/v1/chat/completions", json={"model": "m", "messages": ASK})
            [call] = first.json()["choices"][0]["message"]["tool_calls"]
            args = json.loads(call["function"]["arguments"])
            assert call["function"]["name"] == "approve_tool_call"
            assert (args["tool"], args["arguments"]) == ("python", {"code": "print(6*7)"})
            assert len(prompts(sim)) == 1  # nothing ran yet
            yes = {"role": "tool", "tool_call_id": call["id"], "content": '{"approved": true}'}
            session = {"X-Session-ID": first.headers["x-session-id"]}
            done = http.post(
                "/v1/chat/completions", json={"model": "m", "messages": [yes]}, headers=session
            )
        assert done.json()["choices"][0]["message"]["content"] == "The answer is 42."
        assert RESULT in prompts(sim)[-1]
    finally:
        service.stop()


def test_a_browser_call_reaches_the_browser_search_tool_name(
    harmony: Service, sim: SimServer
) -> None:
    """`to=browser.search` is the server tool `browser_search` (absent here: the model is told)."""
    search = '<|channel|>analysis to=browser.search json<|message|>{"query":"oslo"}<|call|>'
    sim.control.script({"text": search}, {"text": FINAL})
    reply = turn(harmony, False)
    assert reply["content"] == "The answer is 42."
    assert "Unknown tool 'browser_search'" in prompts(sim)[-1]
