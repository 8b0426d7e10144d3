"""The streaming matrix as a Markdown table, and the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil


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


def _share(figures: dict[str, float], direct: dict[str, float], tokens: int) -> str:
    rate = figures[f"tokens_per_second@{tokens}"]
    if figures is direct:
        return f"100 % ({rate:.0f} tok/s)"
    failed = figures[f"failed_streams@{tokens}"]
    share = rate / direct[f"tokens_per_second@{tokens}"] * 100
    return f"{share:.1f} %" + (f" ({failed:g} streams failed)" if failed else "")


def _cells(figures: dict[str, float], direct: dict[str, float], lengths: list[int]) -> list[str]:
    """One column's cells, in the order of `_labels`."""
    is_direct = figures is direct
    ttft = figures["ttft"] * 1000
    cells = [
        f"({ttft:.1f} ms itself)" if is_direct else f"{ttft - direct['ttft'] * 1000:+.1f} ms",
        f"{figures['first_tokens']:g}",
    ]
    for tokens in lengths:
        cpu = f"{figures[f'cpu_per_token@{tokens}'] * 1e6:.0f} µs"
        cells += [f"(stand-in: {cpu})" if is_direct else cpu, _share(figures, direct, tokens)]
    request = f"{figures['cpu_per_request'] * 1000:.2f} ms"
    cells.append(f"(stand-in: {request})" if is_direct else request)
    return cells


def _labels(streams: int, tokens_per_second: float, lengths: list[int]) -> list[str]:
    rate = f"{tokens_per_second:g} tok/s"
    labels = [
        f"added time to first token, 1 stream at {rate}",
        "tokens in the first content delta the client gets",
    ]
    for tokens in lengths:
        labels += [
            f"server CPU per streamed token, {tokens}-token answers",
            f"throughput, {streams} streams × {tokens} tokens at {rate}, % of direct",
        ]
    labels.append("server CPU per request (set-up, session, save; 1-token answers)")
    return labels


def table(
    results: dict[str, dict[str, float]],
    streams: int,
    tokens_per_second: float,
    lengths: list[int],
) -> str:
    """The matrix's rows, one column per server; ratios against direct."""
    direct = results["direct"]
    columns = {name: _cells(figures, direct, lengths) for name, figures in results.items()}
    lines = [
        "| what | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for index, label in enumerate(_labels(streams, tokens_per_second, lengths)):
        lines.append(f"| {label} | " + " | ".join(c[index] for c in columns.values()) + " |")
    litellm = results.get("LiteLLM proxy")
    if litellm:
        lines.append("")
        lines += [
            _against_litellm(name, figures, direct, litellm, lengths)
            for name, figures in results.items()
            if name not in ("direct", "LiteLLM proxy")
        ]
    return "\n".join(lines)


def _against_litellm(
    name: str,
    figures: dict[str, float],
    direct: dict[str, float],
    litellm: dict[str, float],
    lengths: list[int],
) -> str:
    added = figures["ttft"] - direct["ttft"]
    theirs = litellm["ttft"] - direct["ttft"]
    first = f"{added / theirs:.2f}" if theirs > 0 else "n/a (LiteLLM added none)"
    cpu = ", ".join(
        f"{tokens} tokens {_ratio(figures, litellm, f'cpu_per_token@{tokens}'):.2f}"
        for tokens in lengths
    )
    request = _ratio(figures, litellm, "cpu_per_request")
    return (
        f"{name} / LiteLLM: added first-token time {first}, CPU per token ({cpu}), "
        f"CPU per request {request:.2f}"
    )


def _ratio(figures: dict[str, float], litellm: dict[str, float], row: str) -> float:
    return figures[row] / litellm[row]
