"""Every replayable corpus record through the running service, in every way a client meets
it: streamed with whole-marker deltas, streamed with 1-to-8-character deltas, and not
streamed; with and without client tools; with and without server tools. Each way must show
the same content, reasoning and calls, with no markup in `content`, and the stored session
history (GET /v1/sessions/{id}) must equal what the client was shown.

One service serves the whole module (many requests, one process), so the matrix stays cheap.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import service_env
from tests.integration.service import OSS_AGENT, Service
from tests.integration.test_corpus_replay import RECORDS, replay_step
from tests.upstream_sim.fixtures import SimServer

REPLAYABLE = [
    r
    for r in RECORDS
    if r["surface"] in ("raw", "content", "tool_call", "stream")
    or (r["surface"] == "response" and (isinstance(r["input"], dict) or r["expected"]))
]
MARKER = re.compile(r"<\|[a-z_]+\|>|</?(?:tool_call|think|reasoning)>|<function[= ]")
MARKUP = re.compile(r"<\|(?:start|channel|message|end|call|return|constrain)\|>")
WAYS = ["whole-markers", "1-8-chars", "full"]


def by_markers(text: str) -> list[str]:
    """Deltas that are whole markers or the text between them."""
    pieces, at = [], 0
    for match in MARKER.finditer(text):
        pieces += [text[at : match.start()], match.group()]
        at = match.end()
    return [p for p in [*pieces, text[at:]] if p]


def small(text: str, rng: random.Random) -> list[str]:
    pieces, at = [], 0
    while at < len(text):
        size = rng.randint(1, 8)
        pieces.append(text[at : at + size])
        at += size
    return pieces


def scripted(record: dict[str, Any], way: str, rng: random.Random) -> dict[str, Any]:
    """The simulator step for one way of asking (deltas re-cut for the streamed ways)."""
    step = dict(replay_step(record, stream=way != "full"))
    if way == "full" or "sse" in step or "response" in step:
        return step
    split = by_markers if way == "whole-markers" else lambda t: small(t, rng)
    for field, chunks in (("reasoning", "reasoning_chunks"), ("content", "content_chunks")):
        text = step.get("text" if field == "content" and "text" in step else field)
        if text:
            step[chunks] = split(text)
    if "content_chunks" in step and "content_chunks" in replay_step(record, stream=True):
        step["content_chunks"] = split("".join(step["content_chunks"]))
    step.pop("chunk_size", None)
    return step


@pytest.fixture(scope="module")
def service(sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("matrix")
    env = service_env(sim_server.base_url, workdir, TOOLS_ENABLED="calculator,datetime")
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def ask(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """One turn as the client sees it, and its session id."""
    if not body.get("stream"):
        response = http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        message = response.json()["choices"][0]["message"]
        calls = [
            (c["function"]["name"], c["function"]["arguments"])
            for c in message.get("tool_calls") or []
        ]
        shown = {"content": message.get("content"), "reasoning": message.get("reasoning")}
        return {**shown, "calls": calls, "session": response.headers["x-session-id"]}
    content, reasoning, calls = "", "", {}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200, response.read()
        session = response.headers["x-session-id"]
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line.removeprefix("data: "))
            assert "error" not in event, event
            for choice in event["choices"]:
                delta = choice["delta"]
                assert not MARKUP.search(delta.get("content") or ""), delta
                content += delta.get("content") or ""
                reasoning += delta.get("reasoning") or ""
                for call in delta.get("tool_calls") or []:
                    name, args = calls.get(call["index"], ("", ""))
                    function = call["function"]
                    calls[call["index"]] = (
                        name + (function.get("name") or ""),
                        args + function["arguments"],
                    )
    shown = {"content": content or None, "reasoning": reasoning or None}
    return {**shown, "calls": [calls[i] for i in sorted(calls)], "session": session}


def stored_view(http: httpx.Client, session: str) -> dict[str, Any]:
    """The turn as GET /v1/sessions/{id} stores it, folded the way a reply shows a turn."""
    messages = http.get(f"/v1/sessions/{session}").json()["messages"]
    turn = messages[[m["role"] for m in messages].index("user") + 1 :]
    replies = [m for m in turn if m["role"] == "assistant"]
    answered = {m["tool_call_id"] for m in turn if m["role"] == "tool"}
    pending = [
        (c["function"]["name"], c["function"]["arguments"])
        for c in (replies[-1].get("tool_calls") or [] if replies else [])
        if c["id"] not in answered
    ]
    content = "\n\n".join(m["content"] for m in replies if m.get("content"))
    reasoning = "\n".join(m["reasoning"] for m in replies if m.get("reasoning"))
    return {"content": content or None, "reasoning": reasoning or None, "calls": pending}


def comparable(reply: dict[str, Any]) -> dict[str, Any]:
    calls = [(name, json.loads(arguments)) for name, arguments in reply["calls"]]
    return {"content": reply["content"], "reasoning": reply["reasoning"], "calls": calls}


@pytest.mark.parametrize("record", REPLAYABLE, ids=[r["id"] for r in REPLAYABLE])
def test_every_way_of_asking_gives_one_reply_and_stores_it(
    service: Service, sim: SimServer, record: dict[str, Any]
) -> None:
    rng = random.Random(record["id"])
    with service.http() as http:
        for client_tools in (True, False):
            for server_tools in (True, False):
                seen = {}
                for way in WAYS:
                    sim.control.reset()
                    sim.control.script(scripted(record, way, rng))
                    body: dict[str, Any] = {
                        "model": "m",
                        "messages": [{"role": "user", "content": f"replay {record['id']}"}],
                        "stream": way != "full",
                    }
                    if client_tools and record["tools"]:
                        body["tools"] = record["tools"]
                    if not server_tools:
                        body["metadata"] = {"tools": ""}
                    reply = ask(http, body)
                    where = (record["id"], way, client_tools, server_tools)
                    assert not MARKUP.search(reply["content"] or ""), where
                    shown = comparable(reply)
                    assert comparable(stored_view(http, reply["session"])) == shown, where
                    seen[way] = shown
                assert seen["whole-markers"] == seen["full"] == seen["1-8-chars"], where


TEXT_RECORDS = [r for r in REPLAYABLE if r["surface"] in ("raw", "content")]


def test_the_parse_command_and_the_service_agree(service: Service, sim: SimServer) -> None:
    """`oss-agent parse --jsonl` runs the service's parser: on every corpus text whose calls
    the service hands to the client (offered tools), both give the same answer."""
    lines = [json.dumps({"text": r["input"], "tools": r["tools"]}) for r in TEXT_RECORDS]
    result = subprocess.run(
        [OSS_AGENT, "parse", "--jsonl"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    parsed = [json.loads(line) for line in result.stdout.splitlines()]
    compared = 0
    with service.http() as http:
        for record, cli in zip(TEXT_RECORDS, parsed, strict=True):
            offered = {t["function"]["name"] for t in record["tools"]}
            if "error" in cli or any(c["name"] not in offered for c in cli["tool_calls"]):
                continue  # the service would answer the call itself and ask again
            sim.control.reset()
            sim.control.script(replay_step(record, stream=False))
            body = {
                "model": "m",
                "messages": [{"role": "user", "content": f"replay {record['id']}"}],
                "metadata": {"tools": ""},
                **({"tools": record["tools"]} if record["tools"] else {}),
            }
            reply = comparable(ask(http, body))
            calls = [(c["name"], c["arguments"]) for c in cli["tool_calls"]]
            expected = {"content": cli["content"], "reasoning": cli["reasoning"], "calls": calls}
            assert reply == expected, record["id"]
            compared += 1
    assert compared >= 10
