"""gpt-oss's own browser against a real vLLM (scripted gpt-oss model): the model searches
and opens a page with `to=browser.search` / `to=browser.open` on the analysis channel, the
service runs them against the test's loopback site, and the model's gpt-oss citation reaches
the client as a link with a `url_citation`, streamed as stored, through both APIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine.conftest import ENGINE, agent_service, tool_results
from tests.engine.engine import Engine
from tests.engine.scripts import prompt_for
from tests.integration.service import Service
from tests.integration.test_modes import STREAMED, assert_no_markup, chat
from tests.web_site import WebSite, running_site

pytestmark = ENGINE

ASK = [{"role": "user", "content": prompt_for("browse")}]


@pytest.fixture(scope="module")
def site() -> Iterator[WebSite]:
    with running_site() as site:
        yield site


@pytest.fixture(scope="module", params=["harmony", "auto"])
def browser_agent(
    request: pytest.FixtureRequest,
    engine: Engine,
    site: WebSite,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    """oss-agent offering the browser, searching and fetching the loopback site."""
    svc = agent_service(
        engine,
        tmp_path_factory.mktemp(f"browser-{request.param}"),
        TOOL_CALL_MODE=request.param,
        BUILTIN_TOOLS="browser",
        BROWSER_SEARXNG_URL=site.base,
        TOOLS_FETCH_ALLOW="127.0.0.1",
    )
    yield svc
    svc.stop()


def otters(site: WebSite) -> str:
    return f"{site.base}/otters"


def linked_answer(site: WebSite) -> str:
    """BROWSER_ANSWER with its citation turned into a link to the page it cites."""
    return f"Sea otters use stones ([127.0.0.1:{site.server_address[1]}]({otters(site)}))"


@STREAMED
def test_search_open_and_a_linked_citation(
    browser_agent: Service, site: WebSite, stream: bool
) -> None:
    reply = chat(browser_agent, ASK, stream=stream)
    assert reply.content == linked_answer(site)
    assert reply.calls == [] and reply.finish_reason == "stop"
    [searched, opened] = tool_results(browser_agent, reply.session)
    assert searched[0] == "browser_search" and searched[1].startswith("[0] sea otters")
    assert opened[0] == "browser_open" and opened[1].startswith(f"[1] Sea otters ({otters(site)})")
    with browser_agent.http() as http:
        stored = http.get(f"/v1/sessions/{reply.session}").json()["messages"]
    assert (stored[-1]["role"], stored[-1]["content"]) == ("assistant", reply.content)
    assert_no_markup(reply)


def annotations(svc: Service, stream: bool) -> list[dict[str, Any]]:
    body = {"model": "m", "messages": ASK, "stream": stream}
    with svc.http() as http:
        if not stream:
            response = http.post("/v1/chat/completions", json=body, timeout=120)
            return response.json()["choices"][0]["message"]["annotations"]
        found: list[dict[str, Any]] = []
        with http.stream("POST", "/v1/chat/completions", json=body, timeout=120) as response:
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line.removeprefix("data: "))["choices"][0]["delta"]
                    found += delta.get("annotations") or []
        return found


def test_chat_annotations_streamed_as_not(browser_agent: Service, site: WebSite) -> None:
    [note] = annotations(browser_agent, stream=False)
    assert note["type"] == "url_citation"
    cited = note["url_citation"]
    assert (cited["url"], cited["title"]) == (otters(site), "Sea otters")
    link = f"([127.0.0.1:{site.server_address[1]}]({otters(site)}))"
    assert linked_answer(site)[cited["start_index"] : cited["end_index"]] == link
    assert annotations(browser_agent, stream=True) == [note]


def test_responses_show_web_search_calls(browser_agent: Service, site: WebSite) -> None:
    client = browser_agent.client()
    response = client.responses.create(
        model="m", input=ASK[0]["content"], tools=[{"type": "web_search"}]
    )
    [search, opened] = [i.action for i in response.output if i.type == "web_search_call"]
    assert (search.type, search.query) == ("search", "sea otters")
    assert (opened.type, opened.url) == ("open_page", otters(site))
    assert response.output_text == linked_answer(site)
    [message] = [item for item in response.output if item.type == "message"]
    [annotation] = message.content[0].annotations
    assert (annotation.type, annotation.url) == ("url_citation", otters(site))
    again = client.responses.retrieve(response.id)
    assert again.model_dump()["output"] == response.model_dump()["output"]
