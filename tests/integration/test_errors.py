"""Bad input and upstream failures give OpenAI-shaped errors with the right status."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer


def _post(svc: Service, body: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, headers=headers, timeout=30)


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in error["message"]
    return error


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"messages": []}, "messages", "at least 1"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 3}, "temperature", "2"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role", "user"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0", "tool_call_id"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n", "1"),
        ({}, "messages", "required"),
    ],
)
def test_malformed_requests_are_400(service: Service, body: dict, param: str, words: str) -> None:
    error = _error(_post(service, body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert words in error["message"]


def test_invalid_json_body_is_400(service: Service) -> None:
    response = httpx.post(
        f"{service.url}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    _error(response, 400)


def test_unknown_session_is_404(service: Service) -> None:
    error = _error(
        _post(
            service,
            {"messages": [{"role": "user", "content": "x"}]},
            **{"X-Session-ID": "does-not-exist"},
        ),
        404,
    )
    assert error["code"] == "session_not_found"


def test_malformed_session_id_is_400(service: Service) -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    error = _error(_post(service, body, **{"X-Session-ID": "a" * 200}), 400)
    assert error["code"] == "invalid_session_id" and error["param"] == "X-Session-ID"


def test_unknown_server_tool_in_metadata_is_400(service: Service) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "metadata": {"tools": "nope"}}
    error = _error(_post(service, body), 400)
    assert error["param"] == "metadata.tools" and "calculator" in error["message"]


def test_upstream_500_is_502(service: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "error500", "message": "CUDA out of memory"})
    error = _error(_post(service, {"messages": [{"role": "user", "content": "x"}]}), 502)
    assert "CUDA out of memory" in error["message"]


def test_upstream_400_is_400(service: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "status", "status": 400, "message": "context too long"})
    error = _error(_post(service, {"messages": [{"role": "user", "content": "x"}]}), 400)
    assert "context too long" in error["message"] and error["code"] == "upstream_rejected"


def test_upstream_hang_is_504(service: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "hang"})
    error = _error(_post(service, {"messages": [{"role": "user", "content": "x"}]}), 504)
    assert error["code"] == "upstream_timeout"


def test_upstream_reset_is_502(service: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "reset"})
    _error(_post(service, {"messages": [{"role": "user", "content": "x"}]}), 502)


def test_stream_failing_before_output_gets_a_status(service: Service, sim: SimServer) -> None:
    sim.control.script({"fault": "error500"})
    body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
    _error(_post(service, body), 502)


def test_unreachable_upstream(fresh_service: Service) -> None:
    fresh_service.env["LLM_BASE_URL"] = "http://127.0.0.1:9/v1"
    fresh_service.start()
    error = _error(_post(fresh_service, {"messages": [{"role": "user", "content": "x"}]}), 502)
    assert error["code"] == "upstream_unreachable" and "LLM_BASE_URL" in error["message"]
    assert "cannot connect to 127.0.0.1:9: connection refused" in error["message"]
    assert httpx.get(f"{fresh_service.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{fresh_service.url}/ready")
    assert ready.status_code == 503
    assert ready.json()["upstream"]["ok"] is False and ready.json()["database"]["ok"] is True


def test_api_key_is_required_when_set(fresh_service: Service) -> None:
    fresh_service.env["API_KEY"] = "s3cret"
    fresh_service.start()
    body = {"messages": [{"role": "user", "content": "x"}]}
    assert _error(_post(fresh_service, body), 401)["type"] == "authentication_error"
    assert _post(fresh_service, body, Authorization="Bearer s3cret").status_code == 200
    assert httpx.get(f"{fresh_service.url}/health").status_code == 200


def test_upstream_credentials_never_show(fresh_service: Service) -> None:
    fresh_service.env["LLM_BASE_URL"] = "http://agent:hunter2@127.0.0.1:9/v1"
    fresh_service.start()
    body = {"messages": [{"role": "user", "content": "x"}]}
    error = _error(_post(fresh_service, body), 502)
    ready = httpx.get(f"{fresh_service.url}/ready").text
    fresh_service.stop()
    for text in (error["message"], ready, fresh_service.output()):
        assert "hunter2" not in text
    assert "agent:****@127.0.0.1:9" in error["message"]
