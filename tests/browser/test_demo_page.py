"""The chat page of `oss-agent serve --demo`: it says it is the demo model, and a question
for the calculator shows the tool call and its answer (a screenshot is kept under
artifacts/browser/ for the documentation)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chromium import ARTIFACTS, chromium_path, system_chromium
from tests.integration.conftest import service_env
from tests.integration.service import Service
from tests.upstream_sim.fixtures import free_port

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("demo-page")
    env = service_env(f"http://127.0.0.1:{free_port()}/v1", workdir)
    svc = Service(env, workdir, args=["--demo"]).start()
    yield svc
    svc.stop()


@contextmanager
def open_page(url: str) -> Iterator[Page]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with system_chromium() as browser:
        tab = browser.new_page(viewport={"width": 1100, "height": 720})
        tab.set_default_timeout(WAIT_MS)
        tab.goto(url + "/")
        yield tab
        tab.close()


def test_the_demo_page_says_so_and_shows_a_tool_call(demo: Service) -> None:
    with open_page(demo.url) as page:
        banner = page.locator("#demo-banner")
        expect(banner).to_be_visible(timeout=WAIT_MS)
        expect(banner).to_contain_text("built-in demo model")
        page.fill("#input", "what is 6*7")
        page.press("#input", "Enter")
        answer = page.locator(".message.assistant").last
        expect(answer.locator(".tool .call")).to_contain_text("calculator", timeout=WAIT_MS)
        expect(answer.locator(".tool .result")).to_contain_text("→ 42", timeout=WAIT_MS)
        expect(answer.locator(".answer")).to_have_text("6*7 = 42", timeout=WAIT_MS)
        page.screenshot(path=ARTIFACTS / "demo-tool-turn.png")


def test_a_page_with_a_real_model_has_no_demo_banner(service: Service) -> None:
    with open_page(service.url) as page:
        expect(page.locator("#model option")).to_have_count(1, timeout=WAIT_MS)
        page.wait_for_load_state("networkidle")
        expect(page.locator("#demo-banner")).to_be_hidden()
