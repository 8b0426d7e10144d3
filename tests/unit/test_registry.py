from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool

from mcp_tools.registry import BUILTIN, ToolEntry, ToolRegistry


def tool(name: str) -> StructuredTool:
    return StructuredTool.from_function(lambda: "ok", name=name, description=name)


def test_mcp_names_are_made_openai_safe_and_never_clash() -> None:
    registry = ToolRegistry()
    registry.add(ToolEntry(tool("calculator"), BUILTIN))
    registry.add(ToolEntry(tool("get_weather"), "a"))
    registry.add(ToolEntry(tool("get.weather"), "b"))  # cleans to get_weather: clash
    registry.add(ToolEntry(tool("calculator"), "remote"))
    registry.add(ToolEntry(tool("calculator"), "remote"))
    registry.add(ToolEntry(tool("my tool"), "c d"))
    assert registry.names() == sorted(
        [
            "calculator",
            "get_weather",
            "b_get_weather",
            "remote_calculator",
            "remote_calculator_2",
            "my_tool",
        ]
    )
    assert registry.get("b_get_weather").tool.name == "b_get_weather"


def test_duplicate_builtin_is_a_programming_error() -> None:
    registry = ToolRegistry()
    registry.add(ToolEntry(tool("calculator"), BUILTIN))
    with pytest.raises(ValueError, match="calculator"):
        registry.add(ToolEntry(tool("calculator"), BUILTIN))


def test_select_narrows_in_the_given_order() -> None:
    registry = ToolRegistry()
    for name in ("a", "b", "c"):
        registry.add(ToolEntry(tool(name), BUILTIN))
    assert [e.name for e in registry.select(["c", "a", "zzz"])] == ["c", "a"]
    assert len(registry.select(None)) == 3


def test_only_our_own_python_and_browser_are_gpt_oss_own() -> None:
    registry = ToolRegistry()
    registry.add(ToolEntry(tool("python"), BUILTIN))
    registry.add(ToolEntry(tool("browser_search"), "remote"))
    registry.add(ToolEntry(tool("calculator"), BUILTIN))
    assert registry.is_gpt_oss_own("python")
    assert not registry.is_gpt_oss_own("browser_search")  # an MCP tool: an ordinary function
    assert not registry.is_gpt_oss_own("calculator")
    assert not registry.is_gpt_oss_own("missing")
