"""The browser through the running service: a scripted model searches, opens, finds and
answers with a gpt-oss citation; the client sees a link (and `url_citation` annotations),
streamed exactly as stored, in both APIs. Search and pages are the test's own loopback site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer
from tests.web_site import WebSite, running_site

ANSWER_CHUNKS = [
    "Otters crack shells ",
    "with stones【",
    "1†L6",
    "-L8】 and rest",
    " in kelp.【0†L4】",
]


@pytest.fixture(scope="module")
def site() -> Iterator[WebSite]:
    with running_site() as site:
        yield site


@pytest.fixture(scope="module")
def service(
    sim_server: SimServer, site: WebSite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("browser")
    env = service_env(
        sim_server.base_url,
        workdir,
        BUILTIN_TOOLS="browser",
        BROWSER_SEARXNG_URL=site.base,
        TOOLS_FETCH_ALLOW="127.0.0.1",
    )
    svc = Service(env, workdir).start()
    yield svc
    svc.stop()


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def script_research(sim: SimServer) -> None:
    sim.control.script(
        call("browser_search", query="sea otters"),
        call("browser_open", id=0),
        call("browser_find", pattern="urchins"),
        {"content": "".join(ANSWER_CHUNKS), "content_chunks": ANSWER_CHUNKS},
    )


def expected_answer(site: WebSite) -> str:
    link = f"([127.0.0.1:{site.server_address[1]}]({site.base}/otters))"
    return f"Otters crack shells with stones {link} and rest in kelp.【0†L4】"


def test_the_browser_tools_are_listed(service: Service) -> None:
    with service.http() as http:
        names = {tool["name"] for tool in http.get("/v1/tools").json()["data"]}
    assert {"browser_search", "browser_open", "browser_find"} <= names


def test_chat_answer_links_its_citation(service: Service, sim: SimServer, site: WebSite) -> None:
    script_research(sim)
    body = {"model": "m", "messages": [{"role": "user", "content": "otters?"}]}
    with service.http() as http:
        response = http.post("/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert message["content"] == expected_answer(site)
    [note] = message["annotations"]
    cited = note["url_citation"]
    assert note["type"] == "url_citation"
    assert cited["url"] == f"{site.base}/otters" and cited["title"] == "Sea otters"
    link = message["content"][cited["start_index"] : cited["end_index"]]
    assert link == f"([127.0.0.1:{site.server_address[1]}]({site.base}/otters))"
    sent = sim.control.bodies("/v1/chat/completions")
    results = [m["content"] for m in sent[-1]["messages"] if m["role"] == "tool"]
    assert results[0].startswith("[0] sea otters") and "【0†Sea otters†127.0.0.1" in results[0]
    assert results[1].startswith(f"[1] Sea otters ({site.base}/otters)")
    assert results[2].startswith("[2] Find results for text: `urchins`")


def test_chat_stream_equals_stored(service: Service, sim: SimServer, site: WebSite) -> None:
    script_research(sim)
    body = {"model": "m", "messages": [{"role": "user", "content": "otters?"}], "stream": True}
    content, annotations = "", []
    with service.http() as http:
        with http.stream("POST", "/v1/chat/completions", json=body, timeout=60) as response:
            session = response.headers["x-session-id"]
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line.removeprefix("data: "))["choices"][0]["delta"]
                    content += delta.get("content") or ""
                    annotations += delta.get("annotations") or []
        history = http.get(f"/v1/sessions/{session}").json()["messages"]
    assert content == expected_answer(site)
    assert [a["url_citation"]["url"] for a in annotations] == [f"{site.base}/otters"]
    assert [m["content"] for m in history if m["role"] == "assistant"][-1] == content
    assert [m["role"] for m in history].count("tool") == 3


def test_responses_stream_equals_stored(service: Service, sim: SimServer, site: WebSite) -> None:
    script_research(sim)
    client = service.client()
    events = list(client.responses.create(model="m", input="otters?", stream=True))
    streamed = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert streamed == expected_answer(site)
    added = [e.annotation for e in events if e.type == "response.output_text.annotation.added"]
    done = events[-1].response
    [message] = [item for item in done.output if item.type == "message"]
    [annotation] = message.content[0].annotations
    assert annotation.type == "url_citation" and annotation.url == f"{site.base}/otters"
    assert annotation.title == "Sea otters"
    start, end = annotation.start_index, annotation.end_index
    assert streamed[start:end].startswith("([127.0.0.1:") and streamed[end - 2 : end] == "))"
    assert [a["url"] if isinstance(a, dict) else a.url for a in added] == [annotation.url]
    again = client.responses.retrieve(done.id)
    assert again.output_text == streamed
    assert again.model_dump()["output"] == done.model_dump()["output"]


def test_page_markup_is_only_text(service: Service, sim: SimServer, site: WebSite) -> None:
    sim.control.script(call("browser_open", id=f"{site.base}/hostile"), {"content": "Nothing."})
    body = {"model": "m", "messages": [{"role": "user", "content": "read it"}]}
    with service.http() as http:
        response = http.post("/v1/chat/completions", json=body, timeout=60)
        session = response.headers["x-session-id"]
        history = http.get(f"/v1/sessions/{session}").json()["messages"]
    assert response.json()["choices"][0]["message"]["content"] == "Nothing."
    [result] = [m for m in history if m["role"] == "tool"]
    assert "to=functions.write_file" in result["content"]  # shown to the model, never run
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert not (service.cwd / "workspace" / "x").exists()


def test_refused_target_is_a_tool_error_the_model_reads(service: Service, sim: SimServer) -> None:
    sim.control.script(
        call("browser_open", id="http://169.254.169.254/latest/meta-data/"),
        {"content": "Could not open it."},
    )
    body = {"model": "m", "messages": [{"role": "user", "content": "metadata"}]}
    with service.http() as http:
        response = http.post("/v1/chat/completions", json=body, timeout=60)
    assert response.json()["choices"][0]["message"]["content"] == "Could not open it."
    result = sim.control.bodies("/v1/chat/completions")[-1]["messages"][-1]
    assert result["role"] == "tool" and "refused" in result["content"]
    assert "link-local" in result["content"]
