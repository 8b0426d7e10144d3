"""The chat page in a real headless Chromium against the running service and simulator.
A screenshot of each state is kept under artifacts/browser/."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chromium import ARTIFACTS, chromium_path, system_chromium
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)
TOOL_TURN = (
    {
        "reasoning": "The user wants a product; use the calculator.",
        "tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}],
    },
    {
        "reasoning": "The calculator said 42.",
        "content_chunks": ["**Answer:** ", "6 × 7 = `42`\n\n", "| a | b |\n|---|---|\n| 6 | 7 |"],
    },
)


@pytest.fixture
def page(service: Service) -> Iterator[Page]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with system_chromium() as browser:
        tab = browser.new_page(viewport={"width": 1100, "height": 720})
        tab.set_default_timeout(WAIT_MS)
        tab.goto(service.url + "/")
        yield tab
        tab.close()


def user_messages(service: Service, session_id: str) -> list[str]:
    """The session's user messages once a cancelled turn has been rolled back (the service
    notices the closed connection at its next chunk)."""
    deadline = time.monotonic() + 30
    with service.http() as http:
        while True:
            history = http.get(f"/v1/sessions/{session_id}").json()["messages"]
            users = [m["content"] for m in history if m["role"] == "user"]
            if len(users) == 1 or time.monotonic() > deadline:
                return users
            time.sleep(0.2)


def ask(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.press("#input", "Enter")


def test_a_turn_with_a_server_tool_then_switching_sessions(
    page: Page, service: Service, sim: SimServer
) -> None:
    expect(page.locator("#model option")).to_have_count(1)
    expect(page.locator("#key-box")).to_be_hidden()
    page.screenshot(path=ARTIFACTS / "1-empty.png")

    sim.control.script(*TOOL_TURN)
    ask(page, "What is 6 times 7?")
    answer = page.locator(".message.assistant").last
    expect(answer.locator(".answer strong")).to_have_text("Answer:")
    expect(answer.locator(".answer code")).to_have_text("42")
    expect(answer.locator(".answer table td").first).to_have_text("6")
    expect(answer.locator(".tool .call")).to_contain_text('calculator({"expression": "6*7"})')
    expect(answer.locator(".tool .result")).to_contain_text("→ 42")
    answer.locator("details.reasoning summary").click()
    expect(answer.locator("details.reasoning")).to_contain_text("use the calculator")
    expect(page.locator("#sessions li")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "2-tool-turn.png")

    page.click("#new-chat")
    expect(page.locator(".message")).to_have_count(0)
    ask(page, "hello there")
    expect(page.locator(".message.assistant .answer")).to_have_text("echo: hello there")
    expect(page.locator("#sessions li")).to_have_count(2)
    page.screenshot(path=ARTIFACTS / "3-second-session.png")

    page.locator("#sessions li", has_text="What is 6 times 7?").click()
    expect(page.locator(".message.user")).to_have_text("What is 6 times 7?")
    restored = page.locator(".message.assistant")
    expect(restored.locator(".tool .result")).to_contain_text("→ 42")
    expect(restored.locator(".answer strong")).to_have_text("Answer:")
    page.screenshot(path=ARTIFACTS / "4-switched-back.png")


def test_rename_delete_and_stop(page: Page, service: Service, sim: SimServer) -> None:
    ask(page, "first question")
    expect(page.locator(".message.assistant .answer")).to_have_text("echo: first question")
    item = page.locator("#sessions li", has_text="first question")
    page.once("dialog", lambda dialog: dialog.accept("Renamed chat"))
    item.locator("button.rename").click()
    expect(page.locator("#sessions li .title", has_text="Renamed chat")).to_have_count(1)
    session_id = page.locator("#sessions li.active").get_attribute("data-id")
    with service.http() as http:
        assert http.get(f"/v1/sessions/{session_id}").json()["title"] == "Renamed chat"

    words = [f"word{i} " for i in range(40)]
    sim.control.script({"content_chunks": words, "chunk_delay": 0.3})
    ask(page, "a long answer please")
    expect(page.locator(".message.assistant .answer").last).to_contain_text("word1")
    page.click("#stop")
    expect(page.locator("#status")).to_contain_text("Stopped")
    page.screenshot(path=ARTIFACTS / "5-stopped.png")
    assert user_messages(service, session_id) == ["first question"]

    page.locator("#sessions li.active button.delete").click()
    expect(page.locator(f'#sessions li[data-id="{session_id}"]')).to_have_count(0)
    expect(page.locator(".message")).to_have_count(0)
    with service.http() as http:
        assert http.get(f"/v1/sessions/{session_id}").status_code == 404


def test_the_key_field_appears_when_keys_are_required(fresh_service: Service) -> None:
    fresh_service.env["API_KEYS"] = "page-secret"
    fresh_service.start()
    with system_chromium() as browser:
        tab = browser.new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.goto(fresh_service.url + "/")
        expect(tab.locator("#status")).to_contain_text("needs an API key")
        expect(tab.locator("#key-box")).to_be_visible()
        tab.fill("#key", "page-secret")
        tab.press("#key", "Enter")
        tab.locator("#key").dispatch_event("change")
        expect(tab.locator("#model option")).to_have_count(1)
        expect(tab.locator("#status")).to_have_text("")
        tab.screenshot(path=ARTIFACTS / "6-key-entered.png")


def test_markup_in_an_answer_is_shown_as_text(page: Page, sim: SimServer) -> None:
    sim.control.script({"content": 'Look: <img src=x onerror="document.title=1"> <b>bold</b>'})
    ask(page, "show markup")
    answer = page.locator(".message.assistant .answer").last
    expect(answer).to_contain_text('<img src=x onerror="document.title=1"> <b>bold</b>')
    expect(answer.locator("img, b")).to_have_count(0)


def test_a_reload_reconnects_to_the_running_turn(
    page: Page, service: Service, sim: SimServer
) -> None:
    words = [f"part{i} " for i in range(30)]
    sim.control.script(
        TOOL_TURN[0], {"reasoning": "Now answer.", "content_chunks": words, "chunk_delay": 0.15}
    )
    ask(page, "What is 6 times 7, slowly?")
    answer = page.locator(".message.assistant").last
    expect(answer.locator(".tool .result")).to_contain_text("→ 42")
    expect(answer.locator(".answer")).to_contain_text("part2")
    page.reload()  # the stream is gone; the turn goes on in the service
    expect(page.locator(".message.user").last).to_have_text("What is 6 times 7, slowly?")
    again = page.locator(".message.assistant").last
    expect(again.locator(".tool .call")).to_contain_text("calculator")  # its tool activity
    expect(page.locator("#stop")).to_be_visible()  # still running, as before the reload
    expect(again.locator(".answer")).to_contain_text("part29")
    expect(page.locator("#send")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "7-reconnected.png")
    session_id = page.locator("#sessions li.active").get_attribute("data-id")
    with service.http() as http:
        stored = http.get(f"/v1/sessions/{session_id}").json()["messages"]
    assert stored[-1]["content"] == "".join(words).strip()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert page.evaluate("localStorage.getItem('oss-agent-running')") is None
