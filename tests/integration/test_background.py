"""Background responses through the OpenAI SDK on one process (the SQLite default):
queued at once, polled to the end, streamed and resumed from any sequence number,
cancelled while running (nothing stored), continued, refused with clear errors."""

from __future__ import annotations

import openai
import pytest

from tests.integration.service import Service, eventually
from tests.upstream_sim.fixtures import SimServer

ENDED = {"completed", "failed", "cancelled", "incomplete"}


def wait_ended(client: openai.OpenAI, response_id: str, within: float = 30.0) -> object:
    return eventually(
        lambda: (r := client.responses.retrieve(response_id)).status in ENDED and r,
        f"{response_id} ends",
        within,
    )


def test_a_background_response_is_queued_then_completes(service: Service, sim: SimServer) -> None:
    sim.control.script({"reasoning": "Greet.", "content": "Hello Ada.", "delay": 0.5})
    client = service.client()
    queued = client.responses.create(model="m", input="I am Ada.", background=True)
    assert queued.status in ("queued", "in_progress") and queued.background is True
    assert queued.output == []
    done = wait_ended(client, queued.id)
    assert done.status == "completed" and done.output_text == "Hello Ada."
    assert done.id == queued.id and done.background is True
    assert done.usage is not None and done.usage.output_tokens > 0

    sim.control.script({"content": "You are Ada."})
    second = client.responses.create(model="m", input="Who am I?", previous_response_id=done.id)
    assert second.output_text == "You are Ada."
    sent = sim.control.bodies("/v1/chat/completions")[-1]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == ["I am Ada.", "Who am I?"]


def test_a_background_stream_resumes_after_any_event(service: Service, sim: SimServer) -> None:
    words = [f"w{i}," for i in range(30)]
    sim.control.script({"content_chunks": words, "chunk_delay": 0.02})
    client = service.client()
    stream = client.responses.create(model="m", input="Count.", background=True, stream=True)
    seen = []
    for event in stream:
        seen.append(event)
        if len(seen) == 8:
            break  # the client leaves: the response goes on
    stream.close()
    response_id = seen[0].response.id
    assert seen[0].type == "response.created" and seen[0].response.status == "queued"
    assert [e.sequence_number for e in seen] == list(range(8))

    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=7))
    assert [e.sequence_number for e in rest] == list(range(8, 8 + len(rest)))
    assert rest[-1].type == "response.completed"
    assert rest[-1].response.output_text == "".join(words)
    everything = list(client.responses.retrieve(response_id, stream=True))
    assert [e.model_dump() for e in everything] == [e.model_dump() for e in seen + rest]
    text = "".join(e.delta for e in everything if e.type == "response.output_text.delta")
    assert text == "".join(words)  # streamed == stored
    assert client.responses.retrieve(response_id).output_text == text


def test_cancelling_a_running_response_stores_nothing(service: Service, sim: SimServer) -> None:
    sim.control.script({"content_chunks": ["slow "] * 200, "chunk_delay": 0.05})
    client = service.client()
    running = client.responses.create(model="m", input="Take your time.", background=True)
    eventually(lambda: sim.control.requests("/v1/chat/completions") or None, "the model is asked")
    session = running.id.split("_", 2)[2]
    cancelled = client.responses.cancel(running.id)
    assert cancelled.status == "cancelled"
    assert client.responses.retrieve(running.id).status == "cancelled"
    history = service.http().get(f"/v1/sessions/{session}")
    assert history.status_code == 200, history.text
    assert history.json()["messages"] == []  # the turn was rolled back
    stopped = eventually(
        lambda: sim.control.requests("/v1/chat/completions")[-1].get("stream"), "the call ends"
    )
    assert stopped["outcome"] == "client_gone"  # the model call was stopped too
    again = client.responses.cancel(running.id)
    assert again.status == "cancelled"


def test_a_queued_response_waits_for_room_and_can_be_cancelled(
    fresh_service: Service, sim: SimServer
) -> None:
    fresh_service.env["BACKGROUND_MAX_RUNNING"] = "1"
    fresh_service.start()
    sim.control.script({"content": "first", "delay": 2.0}, {"content": "third"})
    client = fresh_service.client()
    first = client.responses.create(model="m", input="One.", background=True)
    eventually(lambda: client.responses.retrieve(first.id).status == "in_progress", "it runs")
    second = client.responses.create(model="m", input="Two.", background=True)
    third = client.responses.create(model="m", input="Three.", background=True)
    assert client.responses.retrieve(second.id).status == "queued"  # no room: one runs
    with pytest.raises(openai.ConflictError, match="still in_progress"):
        client.responses.create(model="m", input="Again.", previous_response_id=first.id)
    cancelled = client.responses.cancel(second.id)
    assert cancelled.status == "cancelled" and cancelled.id == second.id
    assert wait_ended(client, first.id).output_text == "first"
    assert wait_ended(client, third.id).output_text == "third"  # the cancelled one never ran
    assert client.responses.retrieve(second.id).status == "cancelled"
    asked = [b["messages"][-1]["content"] for b in sim.control.bodies("/v1/chat/completions")]
    assert asked == ["One.", "Three."]


def test_refusals_say_what_to_fix(service: Service, sim: SimServer) -> None:
    client = service.client()
    with pytest.raises(openai.BadRequestError, match="store=true"):
        client.responses.create(model="m", input="x", background=True, store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_bg" + "0" * 32 + "_nosuch")
    sim.control.script({"content": "done"})
    plain = client.responses.create(model="m", input="plain")
    with pytest.raises(openai.BadRequestError, match="Only a background response"):
        client.responses.cancel(plain.id)
    with pytest.raises(openai.BadRequestError, match="Only a background response"):
        list(client.responses.retrieve(plain.id, stream=True))
    with service.http() as http:
        bad = http.post(
            "/v1/responses",
            json={"model": "m", "input": "x", "background": True, "tools": [{"type": "nope"}]},
        )
    assert bad.status_code == 400, bad.text  # refused when submitted, not failed later


def test_another_key_cannot_see_or_cancel_a_response(
    fresh_service: Service, sim: SimServer
) -> None:
    fresh_service.env["API_KEYS"] = "sk-alice,sk-bob"
    fresh_service.start()
    alice = openai.OpenAI(base_url=f"{fresh_service.url}/v1", api_key="sk-alice", max_retries=0)
    bob = openai.OpenAI(base_url=f"{fresh_service.url}/v1", api_key="sk-bob", max_retries=0)
    sim.control.script({"content": "secret", "delay": 1.0})
    mine = alice.responses.create(model="m", input="x", background=True)
    for call in (
        lambda: bob.responses.retrieve(mine.id),
        lambda: bob.responses.cancel(mine.id),
        lambda: list(bob.responses.retrieve(mine.id, stream=True)),
        lambda: bob.responses.create(model="m", input="y", previous_response_id=mine.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert wait_ended(alice, mine.id).output_text == "secret"


def test_a_failed_turn_is_a_failed_response_with_its_reason(
    service: Service, sim: SimServer
) -> None:
    sim.control.script({"fault": "error500", "message": "engine fell over"})
    client = service.client()
    queued = client.responses.create(model="m", input="x", background=True)
    failed = wait_ended(client, queued.id)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code.startswith("upstream")
    events = list(client.responses.retrieve(queued.id, stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.message == failed.error.message


def test_deleting_the_session_forgets_its_responses(service: Service, sim: SimServer) -> None:
    sim.control.script({"content": "kept"})
    client = service.client()
    done = wait_ended(client, client.responses.create(model="m", input="x", background=True).id)
    session = done.id.split("_", 2)[2]
    assert service.http().delete(f"/v1/sessions/{session}").status_code == 200
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(done.id)
