"""The `system_info` group: a snapshot of the machine the agent service runs on."""

from __future__ import annotations

import asyncio
import platform
import time
from pathlib import Path

import psutil
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel

from .textio import human_size

CPU_SAMPLE_SECONDS = 0.3


class SystemInfoArgs(BaseModel):
    """No arguments."""


def _snapshot(workspace: Path) -> str:
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(workspace))
    cpu_percent = psutil.cpu_percent(interval=CPU_SAMPLE_SECONDS)
    load = ", ".join(f"{value:.2f}" for value in psutil.getloadavg())
    uptime_hours = (time.time() - psutil.boot_time()) / 3600
    return "\n".join(
        [
            f"OS: {platform.system()} {platform.release()} ({platform.machine()})",
            f"Python: {platform.python_version()}",
            f"CPU: {psutil.cpu_count(logical=True)} logical cores "
            f"({psutil.cpu_count(logical=False) or '?'} physical), {cpu_percent:.0f}% busy",
            f"Load average (1, 5, 15 min): {load}",
            f"Memory: {human_size(memory.available)} free of {human_size(memory.total)} "
            f"({memory.percent:.0f}% used)",
            f"Workspace disk: {human_size(disk.free)} free of {human_size(disk.total)} "
            f"({disk.percent:.0f}% used)",
            f"Uptime: {uptime_hours:.1f} hours",
        ]
    )


def system_info_tools(workspace: Path) -> list[BaseTool]:
    """The system_info tool; disk figures are for the file system holding `workspace`."""

    async def system_info() -> str:
        try:
            # cpu_percent blocks for its sample window, so keep it off the event loop.
            return await asyncio.to_thread(_snapshot, workspace)
        except (OSError, psutil.Error) as error:
            raise ToolException(f"could not read system information: {error}") from None

    return [
        StructuredTool.from_function(
            coroutine=system_info,
            name="system_info",
            description="Report the server's OS, Python version, CPU cores and usage, load "
            "average, free memory and free disk space. Use it for questions about the machine "
            "this assistant runs on, not the user's own computer.",
            args_schema=SystemInfoArgs,
        )
    ]
