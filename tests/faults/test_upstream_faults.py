"""Upstream faults against the real service and the simulator (issue 14): each one gets the
status and code that says what happened, and a failed turn stores nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import fresh_service, service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

__all__ = ["fresh_service"]  # the fixture, for the tests below

CHAT = "/v1/chat/completions"
TIMEOUT, DEADLINE = 3, 5  # seconds: LLM_TIMEOUT and LLM_DEADLINE of the shared service


@pytest.fixture(scope="module")
def svc(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the module, retrying a failed connection once (LLM_MAX_RETRIES=1)."""
    workdir = tmp_path_factory.mktemp("faults")
    env = service_env(
        sim_server.base_url,
        workdir,
        LLM_TIMEOUT=str(TIMEOUT),
        LLM_DEADLINE=str(DEADLINE),
        LLM_MAX_RETRIES="1",
    )
    service = Service(env, workdir).start()
    yield service
    service.stop()


def _post(svc: Service, stream: bool = False, **headers: str) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": "x"}], "stream": stream}
    return httpx.post(f"{svc.url}{CHAT}", json=body, headers=headers, timeout=60)


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def _events(response: httpx.Response) -> list[Any]:
    """The data of each SSE event, parsed (`[DONE]` kept as the string)."""
    data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in data]


def _stream_record(sim: SimServer, wait: float = 30.0) -> dict[str, Any]:
    """How the simulator's last stream ended, once it has (the simulator notes it at the end)."""
    until = time.monotonic() + wait
    while time.monotonic() < until:
        record = sim.control.requests(CHAT)[-1].get("stream")
        if record is not None:
            return record
        time.sleep(0.2)
    raise AssertionError(f"the simulator's stream had not ended after {wait} s")


@pytest.mark.parametrize(("sent", "told"), [({"retry-after": "7"}, "7"), ({}, "1")])
def test_an_upstream_429_is_a_429_with_retry_after(
    svc: Service, sim: SimServer, sent: dict[str, str], told: str
) -> None:
    sim.control.script({"fault": "status", "status": 429, "message": "slow down", "headers": sent})
    response = _post(svc)
    assert "slow down" in _error(response, 429, "upstream_rate_limited")["message"]
    assert response.headers["retry-after"] == told
    assert len(sim.control.requests(CHAT)) == 1  # a status is not retried


def test_a_redirect_is_named_and_not_followed(svc: Service, sim: SimServer) -> None:
    """A model server URL that answers 3xx is a misconfiguration to fix, not a place to go:
    a followed POST can turn into a GET, or reach a host the operator never named."""
    moved = {"location": f"{sim.base_url}/chat/completions"}
    sim.control.script(
        {"fault": "status", "status": 307, "message": "moved", "headers": moved},
        {"content": "followed"},
    )
    error = _error(_post(svc), 502, "upstream_error")
    assert "(307)" in error["message"]
    assert len(sim.control.requests(CHAT)) == 1


MALFORMED_STREAMS = [
    ["data: {not json"],
    ["data: [1, 2]"],
    ['data: {"choices": "none"}'],
    ['data: {"choices": [{"index": 0, "delta": "text"}]}'],
    ['data: {"choices": [{"index": 0, "delta": {"content": 5}}]}'],
    ["<html>502 Bad Gateway</html>"],
]
MALFORMED_BODIES = [
    "<html>502 Bad Gateway</html>",
    "",
    {"choices": [{"index": 0, "message": "hello"}]},
    {"choices": [{"index": 0, "message": {"content": "x", "tool_calls": "f()"}}]},
    [1, 2],
]


@pytest.mark.parametrize("lines", MALFORMED_STREAMS)
def test_a_malformed_stream_is_a_502(svc: Service, sim: SimServer, lines: list[str]) -> None:
    sim.control.script({"sse": lines})
    _error(_post(svc, stream=True), 502, "upstream_bad_response")


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_a_malformed_reply_is_a_502(svc: Service, sim: SimServer, body: Any) -> None:
    sim.control.script({"response": body})
    _error(_post(svc), 502, "upstream_bad_response")


CUT = ['data: {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]}']


def test_a_stream_cut_without_done_is_an_in_band_502_and_not_stored(
    svc: Service, sim: SimServer
) -> None:
    sim.control.script({"content": "first"}, {"sse": CUT, "sse_done": False})
    session = _post(svc).headers["x-session-id"]
    before = httpx.get(f"{svc.url}/v1/sessions/{session}").json()["messages"]
    response = _post(svc, stream=True, **{"X-Session-ID": session})
    assert response.status_code == 200  # the first delta was sent: the error comes in-band
    events = _events(response)
    assert any(e["choices"][0]["delta"].get("content") == "Hel" for e in events[1:-2])
    assert events[-2]["error"]["code"] == "upstream_dropped"
    assert "[DONE]" in events[-2]["error"]["message"] and events[-1] == "[DONE]"
    after = httpx.get(f"{svc.url}/v1/sessions/{session}").json()["messages"]
    assert after == before


def test_a_timeout_is_not_retried(svc: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "hang"}, {"fault": "hang"})
    assert "LLM_TIMEOUT" in _error(_post(svc), 504, "upstream_timeout")["message"]
    assert len(sim.control.requests(CHAT)) == 1


def test_a_connection_failing_before_any_byte_is_retried(svc: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "reset"}, {"content": "second try"})
    response = _post(svc)
    assert response.json()["choices"][0]["message"]["content"] == "second try"
    assert len(sim.control.requests(CHAT)) == 2


def test_a_dripping_server_is_stopped_at_the_deadline(svc: Service, sim: SimServer) -> None:
    # one event every 2 s (each read well within LLM_TIMEOUT), 40 s in all
    sim.control.script({"content": "drip " * 20, "chunk_size": 5, "chunk_delay": 2.0})
    events = _events(_post(svc, stream=True))
    error = events[-2]["error"]
    assert error["code"] == "upstream_timeout" and "LLM_DEADLINE" in error["message"]
    record = _stream_record(sim)
    assert record["outcome"] == "client_gone" and record["sent"] < record["events"]


def test_a_client_disconnect_closes_the_upstream_stream(
    fresh_service: Service, sim: SimServer
) -> None:
    fresh_service.env["LLM_TIMEOUT"] = "30"  # neither limit ends this stream: only the client
    fresh_service.start()
    # 100 events 0.5 s apart: 50 s if nobody stops reading
    sim.control.script({"content": "word " * 100, "chunk_size": 5, "chunk_delay": 0.5})
    body = {"stream": True, "messages": [{"role": "user", "content": "x"}]}
    with httpx.stream("POST", f"{fresh_service.url}{CHAT}", json=body, timeout=30) as response:
        assert any('"content": "word' in line for line in response.iter_lines())
    record = _stream_record(sim, wait=20)
    assert record["outcome"] == "client_gone" and record["sent"] < record["events"]
    metrics = httpx.get(f"{fresh_service.url}/metrics").text
    assert "oss_agent_upstream_cancelled_total 1.0" in metrics


def test_the_upstream_password_never_reaches_the_log(
    fresh_service: Service, sim: SimServer
) -> None:
    fresh_service.env["LOG_LEVEL"] = "INFO"
    fresh_service.env["LLM_BASE_URL"] = sim.base_url.replace("//", "//agent:hunter2@")
    fresh_service.start()
    sim.control.script({"content": "fine"}, {"fault": "status", "status": 404})
    assert _post(fresh_service).status_code == 200
    failed = _error(_post(fresh_service), 502, "upstream_not_found")  # names the base URL
    fresh_service.stop()
    log = fresh_service.output()
    assert "hunter2" not in log + failed["message"]
    assert "agent:****@127.0.0.1" in failed["message"]
    assert "HTTP Request:" not in log  # the HTTP client's per-request lines are off
    assert sim.control.requests(CHAT)[0]["headers"]["authorization"].startswith("Basic ")
