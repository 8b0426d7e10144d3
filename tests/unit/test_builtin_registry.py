"""builtin_tools: the enabled groups, write_file only when allowed, schemas fit for a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import BUILTIN_TOOL_NAMES, Settings
from mcp_tools.builtin import BUILTIN_GROUPS, builtin_tools
from mcp_tools.registry import ToolEntry, ToolRegistry


@pytest.fixture(autouse=True)
def no_tool_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOOLS_ENABLED", "TOOLS_FILES_WRITE", "TOOLS_FETCH_ALLOW", "TOOLS_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path: Path, **overrides: object) -> Settings:
    values = {"tools_workspace": tmp_path / "ws", **overrides}
    return Settings(_env_file=None, **values)


def names(tools: list) -> list[str]:
    return [tool.name for tool in tools]


def test_groups_cover_every_configurable_name() -> None:
    assert set(BUILTIN_GROUPS) == set(BUILTIN_TOOL_NAMES)


def test_default_groups_without_write_or_fetch(tmp_path: Path) -> None:
    tools = builtin_tools(settings(tmp_path))
    assert names(tools) == [
        "calculator", "current_time", "convert_time", "date_diff", "system_info",
        "list_files", "read_file", "search_files",
    ]  # fmt: skip
    assert (tmp_path / "ws").is_dir()


def test_write_file_only_when_allowed(tmp_path: Path) -> None:
    assert "write_file" not in names(builtin_tools(settings(tmp_path, tools_files_write=False)))
    assert "write_file" in names(builtin_tools(settings(tmp_path, tools_files_write=True)))


def test_http_fetch_only_when_enabled(tmp_path: Path) -> None:
    assert "http_fetch" not in names(builtin_tools(settings(tmp_path)))
    chosen = builtin_tools(settings(tmp_path, tools_enabled="http_fetch,calculator"))
    assert names(chosen) == ["calculator", "http_fetch"]


@pytest.mark.parametrize("group", BUILTIN_TOOL_NAMES)
def test_each_group_yields_exactly_its_tools(tmp_path: Path, group: str) -> None:
    tools = builtin_tools(settings(tmp_path, tools_enabled=group, tools_files_write=True))
    assert names(tools) == BUILTIN_GROUPS[group]


def test_all_tools_register_and_have_model_facing_schemas(tmp_path: Path) -> None:
    every_group = ",".join(BUILTIN_TOOL_NAMES)
    tools = builtin_tools(settings(tmp_path, tools_enabled=every_group, tools_files_write=True))
    registry = ToolRegistry()
    for tool in tools:
        registry.add(ToolEntry(tool))
    assert registry.names() == sorted(n for group in BUILTIN_GROUPS.values() for n in group)
    for entry in registry.entries.values():
        function = entry.openai_schema()["function"]
        assert len(function["description"]) > 60, entry.name
        for spec in function["parameters"]["properties"].values():
            assert spec.get("description"), entry.name
