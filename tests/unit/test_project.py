"""The front door stays true: packages resolve to this repo, every setting and route is
documented, and imports flow one way."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from agent.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LAYERS = ["agent", "mcp_tools", "graph", "api"]


@pytest.mark.parametrize("package", LAYERS)
def test_packages_are_ours(package: str) -> None:
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().is_relative_to(REPO)


def test_every_setting_is_documented() -> None:
    readme = (REPO / "README.md").read_text()
    example = (REPO / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in readme, name
        assert f"\n{name.upper()}=" in example, name


def test_every_route_is_documented() -> None:
    from api.app import create_app

    readme = (REPO / "README.md").read_text()
    app = create_app(Settings(_env_file=None))
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/v1", "/health", "/ready", "/metrics")):
            shown = path.replace("{model_id:path}", "{id}").replace("{session_id}", "{id}")
            assert shown in readme, path


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
