"""The Grafana dashboard (docker/grafana/dashboards/oss-agent.json) is built on what the
running service exports: after a streamed turn with a server tool call and a failed model
call, every metric its PromQL names is in /metrics, and (when Debian's `prometheus` is
installed, as CI does) a real Prometheus scraping the service answers every query, and its
panels draw lines in Chromium (the screenshot in the README is this test's)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import ARTIFACTS, chromium_path, system_chromium
from tests.integration.conftest import service_env
from tests.integration.dashboard_console import console_page
from tests.integration.service import Service
from tests.upstream_sim.fixtures import SimServer, free_port, start_process

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "docker" / "grafana" / "dashboards" / "oss-agent.json"
PROMETHEUS_CONFIG = REPO / "docker" / "prometheus" / "prometheus.yml"
# What operators asked to see (issue 22); the dashboard must show each.
ASKED_FOR = {
    "oss_agent_time_to_first_token_seconds_bucket",
    "oss_agent_output_tokens_per_second_bucket",
    "oss_agent_queue_wait_seconds_bucket",
    "oss_agent_tool_seconds_bucket",
    "oss_agent_model_call_errors_total",
}
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "rate", "increase", "irate",
    "histogram_quantile", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "le", "inf", "nan",
}  # fmt: skip


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (grouping labels, matchers, ranges and
    functions left out)."""
    labels = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    bare = re.sub(labels, " ", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"|\b\d[\w.]*", " ", bare)
    words = [
        word.group()
        for word in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)
        if not bare[word.end() :].lstrip().startswith("(")  # a function
    ]
    return {w for w in words if w.lower() not in PROMQL_WORDS and not w.startswith("__")}


def exported_series(metrics_text: str) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0]
        for line in metrics_text.splitlines()
        if line and not line.startswith("#")
    }


@pytest.fixture(scope="module")
def service_after_traffic(
    sim_server: SimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A service that has run a streamed turn with a tool call, and seen a model call fail."""
    workdir = tmp_path_factory.mktemp("dashboard")
    svc = Service(service_env(sim_server.base_url, workdir), workdir).start()
    sim_server.control.reset()
    traffic(svc, sim_server)
    yield svc
    svc.stop()


def traffic(svc: Service, sim_server: SimServer) -> None:
    """A streamed turn with a server tool call, then a model call that fails."""
    sim_server.control.script(
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
        {"content": "It is 42."},
        {"fault": "error500"},
    )
    body: dict[str, Any] = {
        "stream": True,
        "messages": [{"role": "user", "content": "What is 6*7?"}],
    }
    with httpx.stream("POST", f"{svc.url}/v1/chat/completions", json=body, timeout=30) as reply:
        assert reply.status_code == 200
        assert "It is 42" in "".join(reply.iter_lines()).replace('", "', "")
    body["stream"] = False
    failed = httpx.post(f"{svc.url}/v1/chat/completions", json=body, timeout=30)
    assert failed.status_code >= 500


@pytest.fixture(scope="module")
def prometheus(
    service_after_traffic: Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real Prometheus scraping the service every second, serving the dashboard as a console
    page at /consoles/oss-agent.html."""
    if shutil.which("prometheus") is None:
        pytest.skip("Debian's prometheus is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("prometheus")
    consoles = folder / "consoles"
    consoles.mkdir()
    dashboard = json.loads(DASHBOARD.read_text())
    (consoles / "oss-agent.html").write_text(console_page(dashboard, 40, "20s"))
    config = folder / "prometheus.yml"
    target = service_after_traffic.url.removeprefix("http://")
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: oss-agent\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    port = free_port()
    cmd = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.console.templates={consoles}",
        f"--web.console.libraries={consoles}",
    ]
    with start_process(cmd, None, f"http://127.0.0.1:{port}/-/ready", timeout=60):
        yield f"http://127.0.0.1:{port}"


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, tool) "
        '(rate(oss_agent_tool_seconds_bucket{tool!="x"}[$__rate_interval])))'
    )
    assert metric_names(expr) == {"oss_agent_tool_seconds_bucket"}
    assert metric_names("sum(a_total) / on (job) b_gauge offset 5m") == {"a_total", "b_gauge"}


def test_dashboard_shows_what_operators_asked_for() -> None:
    used = set().union(*map(metric_names, dashboard_queries()))
    assert used >= ASKED_FOR, ASKED_FOR - used


def test_every_dashboard_metric_is_exported(service_after_traffic: Service) -> None:
    exported = exported_series(httpx.get(f"{service_after_traffic.url}/metrics").text)
    queries = dashboard_queries()
    assert len(queries) >= 10
    for expr in queries:
        names = metric_names(expr)
        assert names, expr
        assert names <= exported, (expr, names - exported)


def test_prometheus_answers_every_dashboard_query(prometheus: str) -> None:
    for expr in dashboard_queries():
        query = expr.replace("$__rate_interval", "1m")
        assert _answered(prometheus, query), query


@pytest.mark.skipif(chromium_path() is None, reason="Debian's chromium is not installed")
def test_every_panel_draws_lines_in_chromium(
    prometheus: str, service_after_traffic: Service, sim_server: SimServer
) -> None:
    for _ in range(3):  # turns spread over a few seconds, so rates have points to join
        traffic(service_after_traffic, sim_server)
        time.sleep(2)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with system_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{prometheus}/consoles/oss-agent.html")
        graphs = page.locator(".graph")
        assert graphs.count() == len([p for p in _panels() if p["type"] != "row"])
        for index in range(graphs.count()):
            # a drawn series is an SVG path with points (an empty panel has none)
            graphs.nth(index).locator("svg path[d*='L']").first.wait_for(
                state="attached", timeout=30_000
            )
        assert errors == []
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)


def _panels() -> list[dict[str, Any]]:
    return json.loads(DASHBOARD.read_text())["panels"]


def _answered(prometheus: str, query: str, timeout: float = 60) -> bool:
    """Whether the query returns series (scrapes need a few seconds to give rates)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}).json()
        assert answer["status"] == "success", answer
        if answer["data"]["result"]:
            return True
        time.sleep(0.5)
    return False


@pytest.mark.skipif(shutil.which("promtool") is None, reason="Debian's prometheus not installed")
def test_compose_prometheus_config_is_valid() -> None:
    done = subprocess.run(
        ["promtool", "check", "config", str(PROMETHEUS_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
