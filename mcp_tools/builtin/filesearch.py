"""grep for the model: a literal, case-insensitive search over the workspace's text files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

from langchain_core.tools import ToolException

from .fileops import SKIPPED_DIRS, os_errors
from .textio import bounded_lines, clip, open_text
from .workspace import Workspace

MAX_MATCHES = 100
MAX_MATCH_CHARS = 300
MAX_FILES_SCANNED = 5000
MAX_SEARCH_FILE_BYTES = 5_000_000


def search_text(ws: Workspace, query: str, path: str, glob: str | None, budget: int) -> str:
    if not query.strip():
        raise ToolException("query is empty; give the text to look for")
    start = ws.resolve(path)
    if not start.exists():
        raise ToolException(f"'{path}' does not exist; use list_files to see what is there")
    needle = query.casefold()
    matches: list[str] = []
    scanned = 0
    with os_errors("search", path):
        for file in _candidate_files(ws, start, glob):
            scanned += 1
            for number, line in _matching_lines(file, needle):
                matches.append(f"{ws.display(file)}:{number}: {line.strip()[:MAX_MATCH_CHARS]}")
                if len(matches) == MAX_MATCHES:
                    return clip(_report(query, matches, scanned, stopped=True), budget)
    return clip(_report(query, matches, scanned, stopped=False), budget)


def _report(query: str, matches: list[str], scanned: int, stopped: bool) -> str:
    if not matches:
        return f"No matches for '{query}' in {scanned} text files."
    noun = "match" if len(matches) == 1 else "matches"
    header = f"{len(matches)} {noun} for '{query}' (searched {scanned} files"
    header += f"; stopped at {MAX_MATCHES}, narrow path or glob):" if stopped else "):"
    return header + "\n" + "\n".join(matches)


def _candidate_files(ws: Workspace, start: Path, glob: str | None) -> Iterator[Path]:
    """Regular files under `start`; links are skipped so nothing outside can be reached."""
    if start.is_file():
        yield start
        return
    scanned = 0
    for folder, dirs, files in os.walk(start, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            file = Path(folder, name)
            relative = file.relative_to(ws.root).as_posix()
            if glob and not (fnmatch(name, glob) or fnmatch(relative, glob)):
                continue
            if file.is_symlink() or not ws.contains(file) or not file.is_file():
                continue
            if file.stat().st_size > MAX_SEARCH_FILE_BYTES:
                continue
            scanned += 1
            if scanned > MAX_FILES_SCANNED:
                return
            yield file


def _matching_lines(file: Path, needle: str) -> Iterator[tuple[int, str]]:
    with open_text(file) as text:
        if text is None:
            return
        for number, line in enumerate(bounded_lines(text), start=1):
            if needle in line.casefold():
                yield number, line
