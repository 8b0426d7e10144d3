"""The `tool_activity` extension: server tool events in the stream and the response, only
when asked for, never in `content`."""

from __future__ import annotations

import json

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

GOOD_THEN_BAD = (
    {
        "content": "Computing. ",
        "tool_calls": [
            {"name": "calculator", "arguments": {"expression": "6*7"}},
            {"name": "calculator", "arguments": {"expression": "1/0"}},
        ],
    },
    {"content": "It is 42."},
)
ASK = [{"role": "user", "content": "6*7 and 1/0?"}]


def _check_events(events: list[dict]) -> None:
    started = [e for e in events if e["type"] == "started"]
    finished = {e["id"]: e for e in events if e["type"] == "finished"}
    assert [json.loads(e["arguments"]) for e in started] == [
        {"expression": "6*7"},
        {"expression": "1/0"},
    ]
    assert {e["name"] for e in events} == {"calculator"}
    assert set(finished) == {e["id"] for e in started}
    good, bad = (finished[e["id"]] for e in started)
    assert good["result"] == "42" and good["error"] is None
    assert bad["result"] is None and "calculator" in bad["error"]
    assert all(isinstance(e["duration_ms"], int) and e["duration_ms"] >= 0 for e in (good, bad))


def test_streamed_events_reach_the_openai_sdk_as_extra_fields(
    service: Service, sim: SimServer
) -> None:
    sim.control.script(*GOOD_THEN_BAD)
    chunks = list(
        service.client().chat.completions.create(
            model="m", messages=ASK, stream=True, extra_body={"tool_activity": True}
        )
    )
    deltas = [c.choices[0].delta for c in chunks]
    events = [d.model_extra["tool_activity"] for d in deltas if "tool_activity" in d.model_extra]
    _check_events(events)
    assert "".join(d.content or "" for d in deltas) == "Computing.\n\nIt is 42."
    order = [e["type"] for e in events]
    assert order.index("finished") > order.index("started")


def test_raw_sse_has_no_events_unless_asked(service: Service, sim: SimServer) -> None:
    for asked in (False, True):
        sim.control.script(*GOOD_THEN_BAD)
        body = {"model": "m", "messages": ASK, "stream": True}
        if asked:
            body["tool_activity"] = True
        with service.http() as http, http.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
        chunks = [json.loads(line) for line in lines if line != "[DONE]"]
        events = [
            c["choices"][0]["delta"]["tool_activity"]
            for c in chunks
            if "tool_activity" in c["choices"][0]["delta"]
        ]
        if asked:
            _check_events(events)
        else:
            assert events == []
        content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert content == "Computing.\n\nIt is 42."


def test_non_streamed_response_lists_events_when_asked(service: Service, sim: SimServer) -> None:
    sim.control.script(*GOOD_THEN_BAD)
    reply = service.client().chat.completions.create(
        model="m", messages=ASK, extra_body={"tool_activity": True}
    )
    message = reply.choices[0].message
    assert message.content == "Computing.\n\nIt is 42."
    _check_events(message.model_extra["tool_activity"])
    sim.control.script(*GOOD_THEN_BAD)
    plain = service.client().chat.completions.create(model="m", messages=ASK)
    assert plain.choices[0].message.model_extra.get("tool_activity") is None


def test_a_non_boolean_flag_is_a_clear_400(service: Service) -> None:
    with service.http() as http:
        r = http.post("/v1/chat/completions", json={"messages": ASK, "tool_activity": "lots"})
    assert r.status_code == 400
    assert "tool_activity" in json.dumps(r.json()["error"])
