"""The workspace jail under a race: a directory swapped for a link to the outside while
reads are in flight (the swap runs in a thread, the reads in the test)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

from langchain_core.tools import ToolException

from mcp_tools.builtin.fileops import read_text
from mcp_tools.builtin.filesearch import search_text
from mcp_tools.builtin.workspace import Workspace

SECRET = "outside-secret-text"
READS = 3000
MIN_SWAPS = 100
MAX_READS = 30000


def _swapper(root: Path, outside: Path, stop: threading.Event, swaps: list[int]) -> None:
    """Swap root/d between the real directory and a link to `outside` until stopped."""
    real, link = root / "d", root / "d.real"
    while not stop.is_set():
        os.rename(real, link)
        os.symlink(outside, real)
        os.sched_yield()
        os.unlink(real)
        os.rename(link, real)
        os.sched_yield()  # leave the real directory in place for a moment too
        swaps[0] += 1


def _race(tmp_path: Path, attempt) -> Counter:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text(SECRET + "\n")
    root = tmp_path / "ws"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("inside text\n")
    ws = Workspace(root)
    stop, swaps = threading.Event(), [0]
    thread = threading.Thread(target=_swapper, args=(root, outside, stop, swaps))
    thread.start()
    seen: Counter = Counter()
    try:
        # At least READS reads, and on until the swapper has swapped MIN_SWAPS times and a
        # read found the real directory (a loaded machine schedules the two threads
        # unevenly), but never more than MAX_READS.
        while seen.total() < MAX_READS and (
            seen.total() < READS or swaps[0] < MIN_SWAPS or not seen["inside"]
        ):
            try:
                result = attempt(ws)
            except ToolException as error:
                assert SECRET not in str(error)
                seen["refused"] += 1
                continue
            assert SECRET not in result, f"read outside the workspace: {result!r}"
            seen["inside" if "inside text" in result else "other"] += 1
    finally:
        stop.set()
        thread.join()
    assert swaps[0] >= MIN_SWAPS, swaps  # the directory really was swapped while reading
    return seen


def test_read_never_escapes_through_a_directory_swapped_for_a_link(tmp_path: Path) -> None:
    seen = _race(tmp_path, lambda ws: read_text(ws, "d/f.txt", 1, 10, 1000))
    assert seen["inside"] > 0 and seen["refused"] > 0, seen


def test_search_never_escapes_through_a_directory_swapped_for_a_link(tmp_path: Path) -> None:
    seen = _race(tmp_path, lambda ws: search_text(ws, "text", ".", None, 1000))
    assert seen["inside"] > 0, seen
