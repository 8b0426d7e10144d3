"""The front door stays true: packages resolve to this repo, every setting is in .env.example,
the README is short and its links lead somewhere, and imports flow one way. (The docs
site's own checks: tests/integration/test_docs_site.py.)"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LAYERS = ["agent", "mcp_tools", "graph", "api"]


@pytest.mark.parametrize("package", LAYERS)
def test_packages_are_ours(package: str) -> None:
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().is_relative_to(REPO)


def test_every_setting_is_in_env_example() -> None:
    example = (REPO / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in example, name


def test_readme_links_lead_to_files_that_exist() -> None:
    readme = (REPO / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme):
        if not target.startswith(("http://", "https://")):
            assert (REPO / target).exists(), target


def test_readme_is_a_front_door() -> None:
    """Short enough to read in two minutes; it names the test command CI runs, and serve."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert "./scripts/test.sh" in (REPO / ".ci" / "run").read_text()
    assert "./scripts/test.sh" in readme and "./scripts/serve.sh" in readme


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_flow_one_way(layer: str) -> None:
    later = set(LAYERS[LAYERS.index(layer) + 1 :])
    for path in (REPO / layer).rglob("*.py"):
        assert not (_imports(path) & later), f"{path.relative_to(REPO)} imports {later}"


def _default_tables() -> list[tuple[str, str, str]]:
    """(page, variable, default cell) of every docs table headed `| ... | default | ...`."""
    rows = []
    for page in sorted((REPO / "docs").glob("*.md")):
        for table in re.findall(
            r"^\| \w+ \| default \|.*?(?=^[^|]|\Z)", page.read_text(), re.M | re.S
        ):
            for name, default in re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, re.M):
                rows.append((page.name, name, default.strip()))
    return rows


def test_hand_written_setting_tables_give_the_code_defaults() -> None:
    """The pages' own tables of settings (limits, the turn queue, Docker's) say the defaults
    agent/settings.py has; the generated configuration table cannot differ."""
    fields = Settings.model_fields
    checked = 0
    for page, name, cell in _default_tables():
        field = fields.get(name.lower())
        if field is None:
            continue  # a Docker Compose variable, not a setting of the service
        value = field.get_default(call_default_factory=True)
        value = str(value).lower() if isinstance(value, bool) else value  # as set in the env
        shown = "unset" if value is None else f"`{getattr(value, 'value', value)}`"
        shown = shown.replace(".0`", "`") if isinstance(value, float) else shown
        assert cell.split(" (")[0] == shown, f"{page}: {name.upper()} says {cell}, code {shown}"
        checked += 1
    assert checked >= 8  # errors.md's limits, team.md's queue, docker.md's API_KEY and API_PORT


def test_the_service_starts_without_the_sdks_only_some_settings_need() -> None:
    """The MCP SDK takes a third of a second or more to import, psycopg a tenth: a start
    imports them only when an MCP config or a Postgres DATABASE_URL is in use, or a
    request names an MCP server."""
    probe = "import sys, api.app; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    for package in ("mcp", "langchain_mcp_adapters", "psycopg"):
        assert f"'{package}'" not in loaded, f"{package} is imported by a plain start"
