"""POST /v1/responses through the OpenAI SDK: plain, streamed, client tools, continuation."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def test_a_plain_response_and_its_continuation(service: Service, sim: SimServer) -> None:
    sim.control.script(
        {"reasoning": "Greet.", "content": "Hello Ada."}, {"content": "You are Ada."}
    )
    client = service.client()
    first = client.responses.create(model="m", input="I am Ada.", instructions="Be brief.")
    assert first.output_text == "Hello Ada."
    assert [item.type for item in first.output] == ["reasoning", "message"]
    second = client.responses.create(model="m", input="Who am I?", previous_response_id=first.id)
    assert second.output_text == "You are Ada."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "Be brief." and sent[1]["content"] == "I am Ada."
    again = client.responses.retrieve(first.id)
    assert again.output_text == "Hello Ada." and again.id == first.id
    assert client.responses.retrieve(second.id).output_text == "You are Ada."


def test_a_client_tool_round_trip_streamed(service: Service, sim: SimServer) -> None:
    call = {"name": "get_weather", "arguments": {"city": "Paris"}}
    sim.control.script(
        {"reasoning": "Need weather.", "tool_calls": [call]},
        {"content": "Sunny in Paris."},
    )
    client = service.client()
    events = list(
        client.responses.create(model="m", input="Weather in Paris?", tools=[WEATHER], stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.reasoning_text.delta" in kinds
    assert "response.function_call_arguments.delta" in kinds
    done = events[-1].response
    [fc] = [item for item in done.output if item.type == "function_call"]
    assert fc.name == "get_weather" and '"Paris"' in fc.arguments
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(events)))

    output = {"type": "function_call_output", "call_id": fc.call_id, "output": "sunny, 24C"}
    stream = client.responses.create(
        model="m", input=[output], previous_response_id=done.id, tools=[WEATHER], stream=True
    )
    events = list(stream)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Sunny in Paris."
    assert events[-1].response.output_text == "Sunny in Paris."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": fc.call_id, "content": "sunny, 24C"}


def test_a_client_tool_round_trip_not_streamed(service: Service, sim: SimServer) -> None:
    call = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    sim.control.script({"tool_calls": [call]}, {"content": "Cold in Oslo."})
    client = service.client()
    first = client.responses.create(model="m", input="Oslo?", tools=[WEATHER])
    [fc] = first.output
    assert fc.type == "function_call" and fc.name == "get_weather"
    answer = {"type": "function_call_output", "call_id": fc.call_id, "output": "-3C"}
    second = client.responses.create(
        model="m", input=[answer], previous_response_id=first.id, tools=[WEATHER]
    )
    assert second.output_text == "Cold in Oslo."


def test_errors_are_openai_shaped(service: Service, sim: SimServer) -> None:
    client = service.client()
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="m", input="hi", previous_response_id="resp_1-2_nope")
    assert "previous_response_id" in caught.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="m", input="hi", tools=[{"type": "file_search"}])
    assert "only function tools" in bad.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="m", input="hi", tools=[{"type": "web_search"}])
    assert "BUILTIN_TOOLS=browser" in bad.value.message
    assert httpx.get(f"{service.url}/v1/responses/resp_x").status_code == 404


def test_a_failing_upstream_is_response_failed(service: Service, sim: SimServer) -> None:
    sim.control.flavor("vllm", served_model="other-model")  # the upstream answers 404
    events = list(service.client().responses.create(model="m", input="hi", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.message
