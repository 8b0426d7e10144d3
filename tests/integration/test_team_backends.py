"""Several model servers: routing by model, a killed backend routed around, a failed step
retried on another backend before its first token, admin registration, and request
fields reaching the model server intact (or refused with a 400 naming them)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.control import SimControl
from tests.upstream_sim.fixtures import RunningProcess, free_port, start_process

ADMIN = "admin-key-for-backends"
MODEL, OTHER = "gpt-oss-20b", "gpt-oss-120b"


@dataclass
class Sim:
    url: str
    control: SimControl
    process: RunningProcess


@contextlib.contextmanager
def simulator() -> Iterator[Sim]:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tests.upstream_sim", "--host", "127.0.0.1", "--port", str(port)]
    with start_process(cmd, None, f"{root}/health") as process:
        control = SimControl(root)
        yield Sim(f"{root}/v1", control, process)
        control.close()


@dataclass
class Farm:
    svc: Service
    a: Sim
    b: Sim


@contextlib.contextmanager
def running_farm(workdir: Path, **extra: str) -> Iterator[Farm]:
    """Two simulators behind one service: a serves MODEL, b serves MODEL and OTHER, and b
    again as an Ollama server for "small"."""
    with simulator() as a, simulator() as b:
        backends = [
            {"name": "a", "base_url": a.url, "models": [MODEL]},
            {"name": "b", "base_url": b.url, "models": [MODEL, OTHER], "api_key": "sk-b-secret"},
            {"name": "o", "base_url": b.url, "server": "ollama", "models": ["small"]},
        ]
        path = workdir / "backends.json"
        path.write_text(json.dumps(backends))
        env = service_env(
            a.url,
            workdir,
            LLM_BACKENDS_FILE=str(path),
            BACKEND_HEALTH_INTERVAL="0.3",
            BACKEND_MAX_FAILURES="2",
            ADMIN_API_KEY=ADMIN,
            **extra,
        )
        svc = Service(env, workdir).start()
        try:
            yield Farm(svc, a, b)
        finally:
            svc.stop()


@pytest.fixture(scope="module")
def shared_farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    with running_farm(tmp_path_factory.mktemp("farm")) as farm:
        yield farm


@pytest.fixture
def farm(shared_farm: Farm) -> Farm:
    """The module's farm with both simulators reset."""
    shared_farm.a.control.reset()
    shared_farm.b.control.reset()
    return shared_farm


def chat(svc: Service, text: str, model: str = MODEL, **fields) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], **fields}
    return httpx.post(f"{svc.url}/v1/chat/completions", json=body, timeout=60)


def answer(response: httpx.Response) -> str:
    """The assistant content of a response, streamed or not."""
    if not response.headers["content-type"].startswith("text/event-stream"):
        return response.json()["choices"][0]["message"]["content"]
    lines = [line.removeprefix("data: ") for line in response.text.splitlines()]
    chunks = [json.loads(line) for line in lines if line.startswith("{")]
    assert all("error" not in chunk for chunk in chunks), response.text
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def backends(svc: Service) -> dict[str, dict]:
    data = httpx.get(f"{svc.url}/v1/backends").json()["data"]
    return {b["name"]: b for b in data}


def asked(sim: Sim) -> list[str]:
    return [b["messages"][-1]["content"] for b in sim.control.bodies()]


def test_routing_by_model(farm: Farm) -> None:
    models = httpx.get(f"{farm.svc.url}/v1/models").json()["data"]
    assert [m["id"] for m in models] == [MODEL, OTHER, "small"]
    unknown = chat(farm.svc, "hi", model="gpt-4o")
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error["code"] == "model_not_found" and MODEL in error["message"]
    assert chat(farm.svc, "big one", model=OTHER).json()["model"] == OTHER
    assert asked(farm.b) == ["big one"] and asked(farm.a) == []
    assert farm.b.control.bodies()[0]["model"] == OTHER
    chats = [r for r in farm.b.control.requests() if r["path"] == "/v1/chat/completions"]
    assert chats[0]["headers"]["authorization"] == "Bearer sk-b-secret"  # not a health check
    for i in range(4):
        assert chat(farm.svc, f"turn {i}").status_code == 200
    assert len(asked(farm.a)) == 2 and len(asked(farm.b)) == 3  # ties go to the least recent
    listed = backends(farm.svc)
    assert listed["a"]["healthy"] and listed["a"]["in_flight"] == 0
    assert "sk-b-secret" not in httpx.get(f"{farm.svc.url}/v1/backends").text


def test_a_failed_step_is_retried_on_another_backend(farm: Farm) -> None:
    farm.a.control.rule("doomed", {"fault": "error500"})
    farm.b.control.rule("doomed", {"fault": "error500"})
    doomed = chat(farm.svc, "doomed")
    assert doomed.status_code == 502 and doomed.json()["error"]["code"] == "upstream_error"
    for fault in ("error500", "reset"):
        farm.a.control.rule("flaky", {"fault": fault})
        for stream in (False, True):
            assert _answered_after_a_failed(farm, f"flaky {fault} {stream}", stream)
    farm.a.control.rule("slow", {"fault": "hang"})  # past LLM_TIMEOUT (5 s): a timeout
    assert _answered_after_a_failed(farm, "slow", stream=True)


def _answered_after_a_failed(farm: Farm, text: str, stream: bool) -> bool:
    """Send `text` until backend a got it first (and failed); b must have answered it.
    Each attempt waits for a's health check to put it back in rotation first: turns can
    come faster than BACKEND_HEALTH_INTERVAL, and an unhealthy a is picked last."""
    for attempt in range(6):
        _wait_until_healthy(farm.svc, "a")
        response = chat(farm.svc, f"{text} #{attempt}", stream=stream)
        assert response.status_code == 200, response.text
        assert answer(response) == f"echo: {text} #{attempt}"
        if f"{text} #{attempt}" in asked(farm.a):
            return True
    return False


def _wait_until_healthy(svc: Service, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not backends(svc)[name]["healthy"]:
        assert time.monotonic() < deadline, f"backend {name} never came back"
        time.sleep(0.05)


def test_retries_only_where_no_other_backend_serves_the_model(tmp_path: Path) -> None:
    """With LLM_MAX_RETRIES=1 a failing backend is asked once when another backend serves
    the model (run_step moves the step on); when it is the model's only server, a
    connection reset before any byte is asked again, a 5xx is not."""
    with running_farm(tmp_path, LLM_MAX_RETRIES="1") as farm:
        farm.a.control.rule("flaky", {"fault": "error500"})
        assert _answered_after_a_failed(farm, "flaky", stream=False)
        failed_on_a = [text for text in asked(farm.a) if text.startswith("flaky")]
        assert len(failed_on_a) == len(set(failed_on_a)) == 1, failed_on_a
        farm.b.control.rule("lonely", {"fault": "reset"})
        alone = chat(farm.svc, "lonely", model=OTHER)
        assert alone.status_code == 502, alone.text
        assert asked(farm.b).count("lonely") == 2  # the first try and LLM_MAX_RETRIES=1
        farm.b.control.rule("failing", {"fault": "error500"})
        assert chat(farm.svc, "failing", model=OTHER).status_code == 502
        assert asked(farm.b).count("failing") == 1  # a status is an answer: not retried


def _stream_events(response: httpx.Response) -> list[dict]:
    lines = [line.removeprefix("data: ") for line in response.text.splitlines()]
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_dropped_stream_moves_on_only_while_the_client_saw_no_token(farm: Farm) -> None:
    """Dropped after tokens reached the client: an in-band error, the other backend is not
    asked. Dropped after the role chunk only: the step is answered by the other backend."""
    reply = "one two three four five six seven eight nine ten"
    farm.a.control.rule(
        "late", {"content": reply, "chunk_size": 4, "fault": "drop", "fault_after": 4}
    )
    farm.b.control.rule(
        "late", {"content": reply, "chunk_size": 4, "fault": "drop", "fault_after": 4}
    )
    late = chat(farm.svc, "late drop", stream=True)
    assert late.status_code == 200, late.text
    events = _stream_events(late)
    shown = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices")
    )
    assert shown and reply.startswith(shown), late.text
    assert events[-1]["error"]["code"].startswith("upstream_"), late.text
    assert asked(farm.a) + asked(farm.b) == ["late drop"]  # asked once, never moved on

    farm.a.control.rule("early", {"content": reply, "fault": "drop", "fault_after": 1})
    assert _answered_after_a_failed(farm, "early", stream=True)
    assert _answered_after_a_failed(farm, "early plain", stream=False)


def test_a_killed_backend_is_routed_around(tmp_path: Path) -> None:
    with running_farm(tmp_path) as farm:
        _kill_and_route_around(farm)


def _kill_and_route_around(farm: Farm) -> None:
    assert chat(farm.svc, "warm up").status_code == 200
    farm.a.process.popen.terminate()
    farm.a.process.popen.wait(10)
    before = [chat(farm.svc, f"before {i}", stream=i == 1) for i in range(2)]
    assert [answer(r) for r in before] == ["echo: before 0", "echo: before 1"]
    deadline = time.monotonic() + 60
    while backends(farm.svc)["a"]["healthy"]:
        assert time.monotonic() < deadline, backends(farm.svc)
        time.sleep(0.1)
    results = [chat(farm.svc, f"after {i}", stream=i % 2 == 1) for i in range(6)]
    assert [r.status_code for r in results] == [200] * 6
    assert [t for t in asked(farm.b) if t.startswith("after")] == [f"after {i}" for i in range(6)]
    ready = httpx.get(f"{farm.svc.url}/ready").json()["upstream"]
    assert ready["ok"] and {b["name"]: b["ok"] for b in ready["backends"]}["a"] is False


def test_admin_registers_and_removes_backends(farm: Farm) -> None:
    spec = {"name": "c", "base_url": farm.b.url, "models": ["extra"], "weight": 2}
    url = f"{farm.svc.url}/v1/backends"
    assert httpx.post(url, json=spec).status_code == 403
    bad = httpx.post(url, json={**spec, "base_url": "gpu"}, headers=_admin())
    assert bad.status_code == 400 and "base_url" in bad.json()["error"]["message"]
    created = httpx.post(url, json=spec, headers=_admin())
    assert created.status_code == 201 and created.json()["weight"] == 2
    assert chat(farm.svc, "via c", model="extra").status_code == 200
    assert httpx.delete(f"{url}/c").status_code == 403
    assert httpx.delete(f"{url}/c", headers=_admin()).status_code == 200
    assert httpx.delete(f"{url}/c", headers=_admin()).status_code == 404
    assert chat(farm.svc, "via c", model="extra").status_code == 404


def _admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def test_request_fields_reach_the_model_server(farm: Farm) -> None:
    schema = {
        "name": "city",
        "strict": True,
        "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    fields = {
        "response_format": {"type": "json_schema", "json_schema": schema},
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "logit_bias": {"1234": -100},
        "user": "u-1",
        "stop": ["END"],
        "top_k": 20,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
        "chat_template_kwargs": {"enable_thinking": False},
        "structured_outputs": {"choice": ["a", "b"]},
    }
    for stream in (False, True):
        response = chat(farm.svc, "structured", model=OTHER, stream=stream, **fields)
        assert response.status_code == 200, response.text
        sent = farm.b.control.bodies()[-1]
        assert {name: sent.get(name) for name in fields} == fields
    json_object = chat(farm.svc, "json", model=OTHER, response_format={"type": "json_object"})
    assert json_object.status_code == 200
    assert farm.b.control.bodies()[-1]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"audio": {"voice": "alloy"}}, "audio"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"mystery_knob": 1}, "mystery_knob"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
    ],
)
def test_fields_that_cannot_be_honoured_are_refused(farm: Farm, fields: dict, named: str) -> None:
    response = chat(farm.svc, "refuse me", **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert named in error["message"] and (error["param"] or "").startswith(named)
    assert "x-session-id" not in response.headers
    assert asked(farm.a) == asked(farm.b) == []


def test_server_specific_fields_are_refused_where_unsupported(farm: Farm) -> None:
    response = chat(farm.svc, "ollama extras", model="small", top_k=5)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "top_k" and "ollama" in error["message"]
    assert chat(farm.svc, "ollama plain", model="small", seed=1).status_code == 200
    assert farm.b.control.bodies()[-1]["seed"] == 1
