"""system_info reports the machine in a few readable lines."""

from __future__ import annotations

import platform

from mcp_tools.builtin.sysinfo import system_info_tools


async def test_system_info_reports_cpu_memory_disk_and_versions(tmp_path) -> None:
    (tool,) = system_info_tools(tmp_path)
    result = await tool.ainvoke({})
    assert f"Python: {platform.python_version()}" in result
    assert platform.system() in result
    for label in ("CPU:", "Load average", "Memory:", "Workspace disk:", "Uptime:"):
        assert label in result
    assert str(tmp_path) not in result
