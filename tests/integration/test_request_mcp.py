"""MCP servers named in a Responses request (`{"type": "mcp", ...}`), through the OpenAI SDK
against a real streamable-HTTP MCP server: only hosts MCP_REQUEST_SERVERS_ALLOW lists are
reached, `allowed_tools` narrows what the model sees, `require_approval` stops the turn
with an `mcp_approval_request` answered by an `mcp_approval_response`, and the tools are
the request's alone."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.mcp_servers.harness import http_server
from tests.upstream_sim.fixtures import SimServer

WEATHER_CALL = {"name": "lookup_weather", "arguments": {"city": "Paris"}}


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    with http_server() as (url, _process):
        yield url


@pytest.fixture(scope="module")
def allowing(
    sim_server: SimServer, mcp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A service that lets requests name the MCP server on 127.0.0.1 (plain http), and any
    host matched by `local*` only if it resolves to a public address."""
    workdir = tmp_path_factory.mktemp("request-mcp")
    env = service_env(
        sim_server.base_url, workdir, MCP_REQUEST_SERVERS_ALLOW="http://127.0.0.1,local*"
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def mcp_tool(url: str, **fields: object) -> dict[str, object]:
    return {"type": "mcp", "server_label": "weather", "server_url": url, **fields}


def offered(sim: SimServer) -> list[str]:
    tools = sim.control.bodies("/v1/chat/completions")[0].get("tools") or []
    return [tool["function"]["name"] for tool in tools]


def test_a_request_named_server_answers_a_call(
    allowing: Service, sim: SimServer, mcp_url: str
) -> None:
    sim.control.script({"tool_calls": [WEATHER_CALL]}, {"content": "Sunny, 21 C."})
    client = allowing.client()
    tool = mcp_tool(mcp_url, require_approval="never", allowed_tools=["lookup_weather"])
    response = client.responses.create(model="m", input="Weather in Paris?", tools=[tool])
    assert response.output_text == "Sunny, 21 C."
    assert "lookup_weather" in offered(sim) and "word_count" not in offered(sim)
    result = sim.control.bodies("/v1/chat/completions")[1]["messages"][-1]
    assert result["role"] == "tool" and result["content"] == "Paris: sunny, 21 C"

    sim.control.reset()
    sim.control.script({"content": "No tools now."})
    client.responses.create(model="m", input="And now?", previous_response_id=response.id)
    assert "lookup_weather" not in offered(sim)  # the request's tools were that turn's only


def test_a_clashing_name_is_prefixed_with_the_label(
    allowing: Service, sim: SimServer, mcp_url: str
) -> None:
    sim.control.script({"content": "ok"})
    tool = mcp_tool(mcp_url, require_approval="never", allowed_tools=["calculator"])
    allowing.client().responses.create(model="m", input="tools?", tools=[tool])
    assert "weather_calculator" in offered(sim)  # the server's own calculator keeps its name


def test_approval_is_asked_in_the_mcp_shape(
    allowing: Service, sim: SimServer, mcp_url: str
) -> None:
    sim.control.script({"tool_calls": [WEATHER_CALL]}, {"content": "It is sunny."})
    client = allowing.client()
    tool = mcp_tool(mcp_url, require_approval={"never": {"tool_names": ["word_count"]}})
    first = client.responses.create(model="m", input="Weather in Paris?", tools=[tool])
    [asked] = first.output
    assert asked.type == "mcp_approval_request" and asked.server_label == "weather"
    assert asked.name == "lookup_weather" and json.loads(asked.arguments) == {"city": "Paris"}
    assert len(sim.control.bodies("/v1/chat/completions")) == 1  # nothing ran yet
    answer = {"type": "mcp_approval_response", "approval_request_id": asked.id, "approve": True}
    second = client.responses.create(
        model="m", input=[answer], previous_response_id=first.id, tools=[tool]
    )
    assert second.output_text == "It is sunny."
    result = sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]
    assert result["content"] == "Paris: sunny, 21 C"
    with pytest.raises(openai.BadRequestError, match="store=false"):
        client.responses.create(model="m", input="x", tools=[tool], store=False)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.org/mcp", "not among the hosts"),
        ("https://127.0.0.1:1/mcp", None),  # allowed host, but nothing listens: 502 below
        ("http://localhost:1/mcp", "must use https"),
        ("https://localhost:1/mcp", "resolves to 127.0.0.1"),
        ("file:///etc/passwd", "not among the hosts"),
    ],
)
def test_hosts_the_operator_did_not_allow_are_refused(
    allowing: Service, sim: SimServer, url: str, why: str | None
) -> None:
    client = allowing.client()
    tool = mcp_tool(url, require_approval="never")
    if why is None:
        with pytest.raises(openai.APIStatusError) as failed:
            client.responses.create(model="m", input="x", tools=[tool])
        assert failed.value.status_code == 502 and "weather" in failed.value.message
    else:
        with pytest.raises(openai.BadRequestError, match=why) as refused:
            client.responses.create(model="m", input="x", tools=[tool])
        assert refused.value.body["param"] == "tools[0].server_url"
    assert sim.control.bodies("/v1/chat/completions") == []  # the model was never asked


def test_the_feature_is_off_unless_the_operator_allows_hosts(
    service: Service, sim: SimServer, mcp_url: str
) -> None:
    with pytest.raises(openai.BadRequestError, match="MCP_REQUEST_SERVERS_ALLOW"):
        service.client().responses.create(model="m", input="x", tools=[mcp_tool(mcp_url)])
    with pytest.raises(openai.BadRequestError, match="require_approval"):
        service.client().responses.create(
            model="m", input="x", tools=[mcp_tool(mcp_url, require_approval="sometimes")]
        )


def test_a_background_response_reaches_the_server_too(
    allowing: Service, sim: SimServer, mcp_url: str
) -> None:
    sim.control.script({"tool_calls": [WEATHER_CALL]}, {"content": "Sunny."})
    client = allowing.client()
    tool = mcp_tool(mcp_url, require_approval="never")
    queued = client.responses.create(model="m", input="Paris?", tools=[tool], background=True)
    events = list(client.responses.retrieve(queued.id, stream=True))
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "Sunny."
    with pytest.raises(openai.BadRequestError, match="not among the hosts"):
        client.responses.create(
            model="m",
            input="x",
            tools=[mcp_tool("http://example.org/mcp")],
            background=True,
        )
