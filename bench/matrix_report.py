"""The streaming matrix as a Markdown table, and the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil

ROWS = ("ttft", "first_tokens", "cpu_per_token", "tokens_per_second")


def machine_lines() -> list[str]:
    """CPU model, cores, RAM and load average (no paths)."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        model = names[0] if names else model
    ram = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {model}, {os.cpu_count()} cores, {ram:.0f} GiB RAM",
        f"load average at the end (1, 5, 15 min): {load}",
    ]


def _cells(name: str, figures: dict[str, float], direct: dict[str, float]) -> list[str]:
    ttft = (figures["ttft"] - direct["ttft"]) * 1000
    cpu = figures["cpu_per_token"] * 1e6
    share = figures["tokens_per_second"] / direct["tokens_per_second"] * 100
    if name == "direct":
        return [
            f"({figures['ttft'] * 1000:.1f} ms itself)",
            f"{figures['first_tokens']:g}",
            f"(stand-in: {cpu:.0f} µs)",
            f"100 % ({figures['tokens_per_second']:.0f} tok/s)",
        ]
    failed = figures["failed_streams"]
    share_cell = f"{share:.1f} %" + (f" ({failed:g} streams failed)" if failed else "")
    return [f"{ttft:+.1f} ms", f"{figures['first_tokens']:g}", f"{cpu:.0f} µs", share_cell]


def table(results: dict[str, dict[str, float]], streams: int, tokens_per_second: float) -> str:
    """Rows of issue 13's matrix, one column per server; ratios against direct."""
    rate = f"{tokens_per_second:g} tok/s"
    labels = [
        f"added time to first token, 1 stream at {rate}",
        "tokens in the first content delta the client gets",
        "server CPU per streamed token",
        f"throughput, {streams} streams × {rate}, % of direct",
    ]
    direct = results["direct"]
    columns = {name: _cells(name, figures, direct) for name, figures in results.items()}
    lines = [
        "| what | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for index, label in enumerate(labels):
        lines.append(f"| {label} | " + " | ".join(c[index] for c in columns.values()) + " |")
    litellm = results.get("LiteLLM proxy")
    if litellm:
        lines.append("")
        for name, figures in results.items():
            if name in ("direct", "LiteLLM proxy"):
                continue
            added = figures["ttft"] - direct["ttft"]
            theirs = litellm["ttft"] - direct["ttft"]
            cpu = figures["cpu_per_token"] / litellm["cpu_per_token"]
            ratio = f"{added / theirs:.2f}" if theirs > 0 else "n/a (LiteLLM added none)"
            lines.append(
                f"{name} / LiteLLM: added first-token time {ratio}, CPU per token {cpu:.2f}"
            )
    return "\n".join(lines)
