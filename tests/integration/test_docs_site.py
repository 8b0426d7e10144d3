"""The documentation site builds with no warning (broken links and anchors included), and what
it says that the code also says is the code's: every setting with its default, every route,
every command and option, the graph as compiled."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import Settings
from tests.declared_routes import declared_routes
from tests.integration.service import REPO


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return out


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text()


def _rows(page: str) -> list[str]:
    """The text of each table row of a built page, tags removed."""
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in rows]


def _shown(value: object) -> str:
    """How a default value reads in the settings table."""
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ",".join(value) or "empty"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(getattr(value, "value", value)).removeprefix("./")


def test_every_setting_is_in_the_configuration_table_with_its_default(site: Path) -> None:
    rows = _rows(_page(site, "configuration"))
    for name, field in Settings.model_fields.items():
        row = next((r for r in rows if r.split()[:1] == [name.upper()]), None)
        assert row is not None, f"{name.upper()} is missing from the configuration page"
        assert _shown(field.get_default(call_default_factory=True)) in row, row
        description = (field.description or "").replace("`", "")  # code spans lose them
        assert " ".join(description.split()) in " ".join(row.split()), row


def test_every_route_is_in_the_api_page(site: Path) -> None:
    text = html.unescape(_page(site, "api"))
    routes = declared_routes()
    assert len(routes) > 20
    for route in routes:
        path = re.sub(r":\w+}", "}", getattr(route, "path", ""))
        if not path.startswith(("/v1", "/health", "/ready", "/metrics", "/queue")):
            continue
        for method in sorted(set(getattr(route, "methods", ())) - {"HEAD"}):
            assert f"{method} {path}" in text, f"{method} {path} is missing from the API page"


def test_every_command_and_option_is_in_the_cli_page(site: Path) -> None:
    import typer

    from api.cli import app

    text = html.unescape(_page(site, "cli"))
    group = typer.main.get_command(app)
    context = typer.Context(group, info_name="oss-agent")
    for name in group.list_commands(context):
        assert f"oss-agent {name}" in text, name
        for param in group.get_command(context, name).params:
            for flag in getattr(param, "opts", []):
                assert flag in text, f"oss-agent {name} {flag}"


def test_the_architecture_diagram_is_the_compiled_graph(site: Path) -> None:
    from graph.builder import build_graph
    from graph.deps import AgentDeps

    drawn = build_graph(AgentDeps.create(Settings(_env_file=None))).get_graph().draw_mermaid()
    diagrams = re.findall(
        r'<pre class="mermaid"><code>(.*?)</code></pre>', _page(site, "architecture"), re.DOTALL
    )

    def lines(text: str) -> list[str]:  # Markdown turns the tabs that indent a line to spaces
        return [line.strip() for line in text.strip().splitlines()]

    assert [lines(html.unescape(d)) for d in diagrams] == [lines(drawn)]
    for node in ("start_turn", "call_model", "run_tools"):
        assert node in drawn


def test_the_site_has_a_search_box_and_the_chat_page_picture(site: Path) -> None:
    assert (site / "search" / "search_index.json").is_file()
    assert (site / "chat-page.png").is_file()
    assert 'src="../chat-page.png"' in _page(site, "chat-page")
