"""The safe built-in tools, grouped as TOOLS_ENABLED names them, and gpt-oss's own tools
as BUILTIN_TOOLS names them (python here; browser_* in the browser modules).

`builtin_tools(settings)` builds the tools of the enabled groups; `BUILTIN_GROUPS` lists
which tool names each group provides (write_file only when TOOLS_FILES_WRITE is true).
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.tools import BaseTool

from agent.settings import Settings

from .browser import browser_tools
from .calculator import calculator_tools
from .clock import clock_tools
from .fetch import fetch_tools
from .files import file_tools
from .netguard import AddressPolicy
from .python_tool import python_tools
from .sandbox import SandboxLimits
from .sysinfo import system_info_tools
from .workspace import Workspace

BUILTIN_GROUPS: dict[str, list[str]] = {
    "calculator": ["calculator"],
    "datetime": ["current_time", "convert_time", "date_diff"],
    "system_info": ["system_info"],
    "files": ["list_files", "read_file", "search_files", "write_file"],
    "http_fetch": ["http_fetch"],
}

__all__ = ["BUILTIN_GROUPS", "builtin_tools"]


def builtin_tools(settings: Settings) -> list[BaseTool]:
    """The tools of every group in TOOLS_ENABLED, in the order of BUILTIN_GROUPS."""
    enabled = set(settings.tools_enabled)
    budget = settings.tool_output_max_chars
    tools: list[BaseTool] = []
    if "calculator" in enabled:
        tools += calculator_tools()
    if "datetime" in enabled:
        tools += clock_tools()
    if "system_info" in enabled:
        tools += system_info_tools(_workspace_root(settings))
    if "files" in enabled:
        workspace = Workspace(settings.tools_workspace, settings.tools_files_allow_hardlinks)
        tools += file_tools(workspace, budget, allow_write=settings.tools_files_write)
    if "http_fetch" in enabled:
        policy = AddressPolicy.from_allow_list(settings.tools_fetch_allow)
        tools += fetch_tools(policy, settings.tools_fetch_max_bytes, budget)
    if "browser" in settings.builtin_tools:
        tools += browser_tools(settings)
    if "python" in settings.builtin_tools:
        tools += python_tools(settings.tools_workspace.resolve(), sandbox_limits(settings))
    return tools


def sandbox_limits(settings: Settings) -> SandboxLimits:
    """The python sandbox's limits, from the PYTHON_TOOL_* settings."""
    return SandboxLimits(
        wall_seconds=settings.python_tool_timeout,
        cpu_seconds=settings.python_tool_cpu_seconds,
        memory_mb=settings.python_tool_memory_mb,
        processes=settings.python_tool_processes,
        output_bytes=settings.python_tool_output_bytes,
        file_mb=settings.python_tool_file_mb,
        idle_seconds=settings.python_tool_idle_seconds,
        interpreters=settings.python_tool_max_interpreters,
        interpreter=settings.python_tool_interpreter,
    )


def _workspace_root(settings: Settings) -> Path:
    """Where system_info measures disk space: the workspace, or its nearest existing parent."""
    path = settings.tools_workspace.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
