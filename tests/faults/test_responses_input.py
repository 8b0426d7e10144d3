"""Responses API input the service cannot use gets a clear 4xx, never a 500, and no limit
is bypassed: a content part whose text is not a string, response ids with huge numbers,
a `function_call_output` whose `output` is a list, and `store: false` with server tools
that would stop the turn for an approval it could never receive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

MAX_CHARS = 1000
HUGE_ID = f"resp_{'9' * 5000}-1_x"
LOOKUP = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}


@pytest.fixture(scope="module")
def agent(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("responses-input")
    env = service_env(
        sim_server.base_url,
        workdir,
        MAX_MESSAGE_CHARS=str(MAX_CHARS),
        TOOLS_FILES_WRITE="true",
        TOOLS_REQUIRE_APPROVAL="write_file",
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def _post(svc: Service, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{svc.url}/v1/responses", json=body, timeout=60)


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.mark.parametrize("text", [5, None, ["a"], {"a": 1}])
def test_a_content_part_whose_text_is_not_a_string_is_a_400(
    agent: Service, sim: SimServer, text: Any
) -> None:
    part = {"type": "input_text", "text": text}
    item = {"type": "message", "role": "user", "content": [part]}
    error = _error(_post(agent, {"input": [item]}), 400)
    assert error["param"] == "input[0].content[0].text", error
    assert "string" in error["message"], error


def test_a_response_id_with_a_huge_number_is_unknown(agent: Service) -> None:
    got = httpx.get(f"{agent.url}/v1/responses/{HUGE_ID}", timeout=60)
    assert _error(got, 404)["code"] == "response_not_found"
    continued = _post(agent, {"input": "hi", "previous_response_id": HUGE_ID})
    assert _error(continued, 404)["code"] == "response_not_found"


@pytest.mark.parametrize(
    "output",
    [["a" * 600, "b" * 600], [{"type": "input_text", "text": "c" * 1200}], {"k": "d" * 1200}],
)
def test_max_message_chars_holds_for_a_function_call_output_that_is_not_a_string(
    agent: Service, sim: SimServer, output: Any
) -> None:
    sim.control.script({"content": "noted"})
    items = [
        {"type": "message", "role": "user", "content": "look it up"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": output},
    ]
    error = _error(_post(agent, {"input": items, "tools": [LOOKUP]}), 400)
    assert "MAX_MESSAGE_CHARS" in error["message"] and error["param"] == "input.2", error


def test_a_short_function_call_output_list_is_accepted(agent: Service, sim: SimServer) -> None:
    sim.control.script({"content": "noted"})
    items = [
        {"type": "message", "role": "user", "content": "look it up"},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": ["short", "list"]},
    ]
    response = _post(agent, {"input": items, "tools": [LOOKUP]})
    assert response.status_code == 200, response.text


def test_store_false_with_tools_that_need_approval_is_refused(
    agent: Service, sim: SimServer
) -> None:
    sim.control.script(
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "x"}}]}
    )
    error = _error(_post(agent, {"input": "write a.txt", "store": False}), 400)
    assert error["param"] == "store" and "write_file" in error["message"], error
    assert "TOOLS_REQUIRE_APPROVAL" in error["message"], error
    assert not (agent.cwd / "workspace" / "a.txt").exists()


def test_store_false_without_such_tools_runs(agent: Service, sim: SimServer) -> None:
    sim.control.script({"content": "hello"})
    body = {"input": "hi", "store": False, "metadata": {"tools": "calculator"}}
    response = _post(agent, body)
    assert response.status_code == 200, response.text
    assert response.json()["output"][-1]["content"][0]["text"] == "hello"
