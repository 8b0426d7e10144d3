"""Cost of one call of the python built-in tool (bubblewrap sandbox), cold and warm.

Run: `uv run python bench/python_tool.py [--rounds N]`. Each round measures, interleaved:

- `cold`: the first call of a new session: the sandbox and its interpreter start, then
  `6 * 7` runs (what a session's first call, or one after an idle drop, pays);
- `warm`: a later call of the same session: `6 * 7` on the running interpreter;
- `warm, import`: a later call that imports a stdlib module (`statistics`, fresh each round);
- `baseline`: `python3 -c pass` started directly, no sandbox: the interpreter's own start.

Prints the median and 90th percentile milliseconds of each. No assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from mcp_tools.builtin.python_tool import PythonSessions
from mcp_tools.builtin.sandbox import SandboxLimits


async def measure(rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"cold": [], "warm": [], "warm, import": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="pybench-") as folder:
        os.chmod(folder, 0o755)
        limits = SandboxLimits()
        for index in range(rounds):
            sessions = PythonSessions(Path(folder), limits)
            session = f"bench-{index}"
            began = time.perf_counter()
            await sessions.run(session, "6 * 7")
            times["cold"].append(time.perf_counter() - began)
            began = time.perf_counter()
            await sessions.run(session, "6 * 7")
            times["warm"].append(time.perf_counter() - began)
            began = time.perf_counter()
            await sessions.run(session, "import statistics\nstatistics.mean([1, 2, 3])")
            times["warm, import"].append(time.perf_counter() - began)
            await sessions.close_all()
            began = time.perf_counter()
            process = await asyncio.create_subprocess_exec(limits.interpreter, "-I", "-c", "pass")
            await process.wait()
            times["baseline"].append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    times = asyncio.run(measure(args.rounds))
    print(f"python tool, {args.rounds} rounds (milliseconds)")
    print(f"{'':16}{'median':>10}{'p90':>10}")
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
        print(f"{name:16}{statistics.median(ms):10.1f}{p90:10.1f}")


if __name__ == "__main__":
    main()
