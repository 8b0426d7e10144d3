"""grep for the model: a literal, case-insensitive search over the workspace's text files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from fnmatch import fnmatch

from langchain_core.tools import ToolException

from .fileops import SKIPPED_DIRS, os_errors
from .jail import Opened, walk_tree
from .textio import bounded_lines, clip, open_text
from .workspace import READ_FLAGS, Workspace, display

MAX_MATCHES = 100
MAX_MATCH_CHARS = 300
MAX_FILES_SCANNED = 5000
MAX_SEARCH_FILE_BYTES = 5_000_000


def search_text(ws: Workspace, query: str, path: str, glob: str | None, budget: int) -> str:
    if not query.strip():
        raise ToolException("query is empty; give the text to look for")
    needle = query.casefold()
    matches: list[str] = []
    scanned = 0
    with ws.opened(path) as start, os_errors("search", path):
        for shown, fd in _candidate_files(ws, start, glob):
            scanned += 1
            for number, line in _matching_lines(fd, needle):
                matches.append(f"{shown}:{number}: {line.strip()[:MAX_MATCH_CHARS]}")
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


def _candidate_files(ws: Workspace, start: Opened, glob: str | None) -> Iterator[tuple[str, int]]:
    """(name for the model, open fd) of the regular files at or under `start`. Links are
    never followed, and files with other hard links are left out unless allowed."""
    if not stat.S_ISDIR(os.fstat(start.fd).st_mode):
        shown = display(start.parts)
        ws.check_file(os.fstat(start.fd), shown)
        os.set_blocking(start.fd, True)
        yield shown, start.fd
        return
    scanned = 0
    for parts, entry, dir_fd in walk_tree(start.fd, start.parts, SKIPPED_DIRS):
        shown = display((*parts, entry.name))
        if glob and not (fnmatch(entry.name, glob) or fnmatch(shown, glob)):
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        fd = _open_searchable(ws, dir_fd, entry.name, shown)
        if fd is None:
            continue
        scanned += 1
        try:
            if scanned > MAX_FILES_SCANNED:
                return
            yield shown, fd
        finally:
            os.close(fd)


def _open_searchable(ws: Workspace, dir_fd: int, name: str, shown: str) -> int | None:
    """`name` in `dir_fd` opened without following a link, if it may be searched."""
    try:
        fd = os.open(name, READ_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:  # gone, unreadable, or swapped for a link since the listing
        return None
    status = os.fstat(fd)
    if ws.refusal(status, shown) or status.st_size > MAX_SEARCH_FILE_BYTES:
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return fd


def _matching_lines(fd: int, needle: str) -> Iterator[tuple[int, str]]:
    with open_text(fd) as text:
        if text is None:
            return
        for number, line in enumerate(bounded_lines(text), start=1):
            if needle in line.casefold():
                yield number, line
