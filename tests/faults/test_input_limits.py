"""Oversized, deeply nested and poisoned requests get a 413 or a 400 that names the limit or
the field, on both turn APIs and on session renames, and leave no session behind."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.conftest import KEY, LIMITS, authed, raw_exchange, read_all
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

CHAT, RESPONSES = "/v1/chat/completions", "/v1/responses"
LIMIT_BYTES = int(LIMITS["MAX_REQUEST_BYTES"])
MAX_MESSAGES, MAX_CHARS = int(LIMITS["MAX_MESSAGES"]), int(LIMITS["MAX_MESSAGE_CHARS"])
MAX_TOOLS, MAX_SCHEMA = int(LIMITS["MAX_TOOLS"]), int(LIMITS["MAX_TOOL_SCHEMA_BYTES"])
DEEP = "[" * 5000 + "]" * 5000  # past Python's recursion limit
JUST_TOO_DEEP = "[" * 40 + "]" * 40  # past MAX_JSON_DEPTH=32, well within recursion


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", f"Authorization: Bearer {KEY}"]
    lines += ["Content-Type: application/json", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_and_error(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return status, json.loads(body)["error"]


def _post_raw(svc: Service, path: str, body: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    return httpx.post(f"{svc.url}{path}", content=body, headers=headers, timeout=60)


def _error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(
    keyed_service: Service,
) -> None:
    head = _head(CHAT, "Content-Length: 104857600")  # 100 MB announced, 14 bytes sent
    status, error = _status_and_error(raw_exchange(keyed_service, head, b'{"messages": ['))
    assert status == 413 and error["code"] == "request_too_large"
    assert "MAX_REQUEST_BYTES" in error["message"] and str(LIMIT_BYTES) in error["message"]


def test_a_chunked_body_is_refused_while_it_arrives(keyed_service: Service) -> None:
    """The body is never finished: an answer proves it was refused part way through."""
    opening, chunk = b'{"messages": [', b"x" * 65536
    with socket.create_connection(("127.0.0.1", keyed_service.port), timeout=60) as sock:
        sock.sendall(_head(CHAT, "Transfer-Encoding: chunked") + b"%x\r\n%s\r\n" % (14, opening))
        sent = len(opening)
        while sent <= LIMIT_BYTES:  # one byte past the limit is enough; the body never ends
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        status, error = _status_and_error(read_all(sock))
    assert status == 413 and error["code"] == "request_too_large"


def _chat(messages: list[dict], tools: list[dict] | None = None) -> dict:
    return {"model": "m", "messages": messages, **({"tools": tools} if tools else {})}


def _tool(name: str, description: str = "d", parameters: dict | None = None) -> dict:
    parameters = parameters or {"type": "object", "properties": {}}
    function = {"name": name, "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


def _flat_tool(name: str, description: str = "d") -> dict:
    return {"type": "function", "name": name, "description": description, "parameters": {}}


USER = {"role": "user", "content": "hi"}
OVER_LIMIT = [
    (CHAT, _chat([USER] * (MAX_MESSAGES + 1)), "messages", "MAX_MESSAGES"),
    (RESPONSES, {"input": [USER] * (MAX_MESSAGES + 1)}, "input", "MAX_MESSAGES"),
    (CHAT, _chat([{"role": "user", "content": "x" * (MAX_CHARS + 1)}]), "messages.0", "CHARS"),
    (
        CHAT,
        _chat([USER, {"role": "user", "content": [{"type": "text", "text": "x" * MAX_CHARS}] * 2}]),
        "messages.1",
        "MAX_MESSAGE_CHARS",
    ),
    (RESPONSES, {"input": "x" * (MAX_CHARS + 1)}, "input", "MAX_MESSAGE_CHARS"),
    (CHAT, _chat([USER], [_tool(f"t{i}") for i in range(MAX_TOOLS + 1)]), "tools", "MAX_TOOLS"),
    (
        RESPONSES,
        {"input": "hi", "tools": [_flat_tool(f"t{i}") for i in range(5)]},
        "tools",
        "TOOLS",
    ),
    (CHAT, _chat([USER], [_tool("big", "d" * MAX_SCHEMA)]), "tools.0", "MAX_TOOL_SCHEMA_BYTES"),
    (RESPONSES, {"input": "hi", "tools": [_flat_tool("b", "d" * MAX_SCHEMA)]}, "tools.0", "SCHEMA"),
]


@pytest.mark.parametrize(("path", "body", "param", "setting"), OVER_LIMIT)
def test_each_limit_is_a_400_naming_the_field_and_the_setting(
    keyed_service: Service, path: str, body: dict, param: str, setting: str
) -> None:
    with authed(keyed_service) as http:
        error = _error(http.post(path, json=body), 400, "limit_exceeded")
    assert error["param"] == param and setting in error["message"]


def test_a_request_at_every_limit_is_answered(keyed_service: Service, sim: SimServer) -> None:
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"}
        for i in range(MAX_MESSAGES - 1)
    ]
    history.append({"role": "user", "content": "x" * MAX_CHARS})
    padding = "d" * (MAX_SCHEMA - 200)
    tools = [_tool(f"t{i}", padding) for i in range(MAX_TOOLS)]
    with authed(keyed_service) as http:
        response = http.post(CHAT, json=_chat(history, tools))
    assert response.status_code == 200, response.text
    assert len(response.json()["choices"]) == 1


def _sessions(svc: Service) -> set[str]:
    with authed(svc) as http:
        listed = http.get("/v1/sessions")
    assert listed.status_code == 200, listed.text
    return {session["id"] for session in listed.json()["data"]}


def _deep_in(where: str, nested: str) -> tuple[str, bytes]:
    """A request with `nested` (JSON text) placed at `where`."""
    if where == "tool schema":
        tool = '{"type":"function","function":{"name":"f","parameters":{"type":"object","x":%s}}}'
        return CHAT, b'{"messages":[{"role":"user","content":"hi"}],"tools":[%s]}' % (
            (tool % nested).encode()
        )
    if where == "image part":
        part = b'{"type":"image_url","image_url":{"url":%s}}' % nested.encode()
        return CHAT, b'{"messages":[{"role":"user","content":[%s]}]}' % part
    if where == "tool-call arguments":
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": nested}}
        messages = [USER, {"role": "assistant", "tool_calls": [call]}]
        messages.append({"role": "tool", "tool_call_id": "c1", "content": "r"})
        return CHAT, json.dumps(_chat(messages)).encode()
    item = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": nested}
    return RESPONSES, json.dumps({"input": [USER, item]}).encode()


PLACES = ["tool schema", "image part", "tool-call arguments", "responses arguments"]


@pytest.mark.parametrize("nested", [DEEP, JUST_TOO_DEEP], ids=["5000-levels", "40-levels"])
@pytest.mark.parametrize("where", PLACES)
def test_deeply_nested_json_is_a_400(keyed_service: Service, where: str, nested: str) -> None:
    before = _sessions(keyed_service)
    path, body = _deep_in(where, nested)
    error = _error(_post_raw(keyed_service, path, body), 400, "json_too_deep")
    assert "MAX_JSON_DEPTH" in error["message"]
    if "arguments" in where:
        assert error["param"].endswith("arguments")
    assert _sessions(keyed_service) == before


POISONED = [
    (
        CHAT,
        b'{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function",'
        b'"function":{"name":"f","parameters":{"type":"object","default":NaN}}}]}',
        None,
    ),
    (CHAT, b'{"messages":[{"role":"user","content":"hi"}],"temperature":Infinity}', None),
    (CHAT, b'{"messages":[{"role":"user","content":"hi"}],"temperature":-1e999}', None),
    (
        CHAT,
        b'{"messages":[{"role":"user","content":"lone \\ud800 surrogate"}]}',
        "messages.0.content",
    ),
    (
        CHAT,
        b'{"messages":[{"role":"user","content":[{"type":"text","text":"\\udfff"}]}]}',
        "messages.0.content.0.text",
    ),
    (
        CHAT,
        b'{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":'
        b'[{"id":"c","type":"function","function":{"name":"f","arguments":"{\\"a\\": NaN}"}}]},'
        b'{"role":"tool","tool_call_id":"c","content":"r"}]}',
        None,
    ),
    (RESPONSES, b'{"input":"lone \\ud800"}', "input"),
    (RESPONSES, b'{"input":"hi","tools":[{"type":"function","name":"f","parameters":NaN}]}', None),
]


@pytest.mark.parametrize(("path", "body", "param"), POISONED)
def test_poisoned_json_is_a_400_and_leaves_no_session(
    keyed_service: Service, path: str, body: bytes, param: str | None
) -> None:
    before = _sessions(keyed_service)
    error = _error(_post_raw(keyed_service, path, body), 400, "invalid_json")
    if param:
        assert error["param"] == param
    assert _sessions(keyed_service) == before


def test_a_poisoned_rename_is_a_400_and_keeps_the_title(keyed_service: Service) -> None:
    with authed(keyed_service) as http:
        started = http.post(CHAT, json=_chat([USER]))
        session = started.headers["x-session-id"]
        assert http.patch(f"/v1/sessions/{session}", json={"title": "kept"}).status_code == 200
    response = httpx.patch(
        f"{keyed_service.url}/v1/sessions/{session}",
        content=b'{"title": "\\ud800"}',
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert _error(response, 400, "invalid_json")["param"] == "title"
    with authed(keyed_service) as http:
        assert http.get(f"/v1/sessions/{session}").json()["title"] == "kept"


@pytest.fixture(scope="module")
def default_limits_service(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("default-limits")
    env = service_env(sim_server.base_url, workdir, LLM_TIMEOUT="120")
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def test_health_answers_while_a_request_at_the_limits_is_processed(
    default_limits_service: Service, sim: SimServer
) -> None:
    """2048 messages, 14 MB in all (the defaults): /health answers before it is done."""
    messages = [{"role": "user", "content": f"{i} " + "x" * 7000} for i in range(2048)]
    finished = threading.Event()
    outcome: dict[str, int] = {}

    def send_big() -> None:
        with httpx.Client(timeout=300) as http:
            reply = http.post(f"{default_limits_service.url}{CHAT}", json=_chat(messages))
        outcome["status"] = reply.status_code
        finished.set()

    sender = threading.Thread(target=send_big)
    sender.start()
    answered_meanwhile = 0
    with httpx.Client(timeout=300) as http:
        while not finished.is_set():
            assert http.get(f"{default_limits_service.url}/health").status_code == 200
            answered_meanwhile += not finished.is_set()
    sender.join()
    assert outcome["status"] == 200
    assert answered_meanwhile > 0
