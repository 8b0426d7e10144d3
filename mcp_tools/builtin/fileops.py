"""What the file tools do, as plain blocking functions over a `Workspace`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch

from langchain_core.tools import ToolException

from .jail import Opened, walk_tree
from .textio import bounded_lines, clip, human_size, open_text
from .tool_turn import current_budget
from .workspace import Workspace, display

MAX_LIST_ENTRIES = 300
MAX_WRITE_CHARS = 1_000_000
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".mypy_cache"}


@contextmanager
def os_errors(action: str, path: str) -> Iterator[None]:
    """Turn an OS error into a message naming the model's path (never the server's)."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ToolException(f"could not {action} '{path}': {reason}") from None


def list_dir(ws: Workspace, path: str, pattern: str | None, recursive: bool, budget: int) -> str:
    lines: list[str] = []
    with ws.directory(path) as opened, os_errors("list", path):
        where = display(opened.parts)
        for parts, entry in _entries(opened, recursive):
            if pattern and not fnmatch(entry.name, pattern):
                continue
            if len(lines) == MAX_LIST_ENTRIES:
                lines.append(f"…stopped at {MAX_LIST_ENTRIES} entries; narrow path or pattern")
                break
            lines.append(_describe(ws, (*parts, entry.name), entry))
    if not lines:
        suffix = f" matching '{pattern}'" if pattern else ""
        return f"'{where}' has no entries{suffix}."
    return clip(f"Contents of '{where}' (directories end with /):\n" + "\n".join(lines), budget)


def _entries(opened: Opened, recursive: bool) -> Iterator[tuple[tuple[str, ...], os.DirEntry]]:
    if recursive:
        for parts, entry, _ in walk_tree(opened.fd, opened.parts, SKIPPED_DIRS):
            yield parts, entry
        return
    with os.scandir(opened.fd) as scan:
        for entry in sorted(scan, key=lambda entry: entry.name):
            yield opened.parts, entry


def _describe(ws: Workspace, parts: tuple[str, ...], entry: os.DirEntry) -> str:
    name = display(parts)
    if entry.is_symlink():
        return f"{name}  ({ws.link_target(parts)})"
    if entry.is_dir(follow_symlinks=False):
        return f"{name}/"
    return f"{name}  ({human_size(entry.stat(follow_symlinks=False).st_size)})"


def read_text(ws: Workspace, path: str, offset: int, limit: int, budget: int) -> str:
    with ws.file(path) as (fd, shown), os_errors("read", path), open_text(fd) as text:
        if text is None:
            size = human_size(os.fstat(fd).st_size)
            return f"'{shown}' is a binary file ({size}); read_file only shows text files."
        lines, next_line, seen = _numbered_slice(text, offset, limit, max(budget - 150, 100))
    if seen == 0:
        return f"'{shown}' is empty."
    if not lines:
        return f"'{shown}' has only {seen} lines; use an offset between 1 and {seen}."
    last = offset + len(lines) - 1
    if next_line is None:
        header = f"'{shown}' lines {offset}-{last} of {seen}:"
    else:
        header = f"'{shown}' lines {offset}-{last} (more follows; read on with offset={next_line}):"
    return clip(header + "\n" + "\n".join(lines), budget)


def _numbered_slice(
    text: io.TextIOBase, first: int, limit: int, budget: int
) -> tuple[list[str], int | None, int]:
    """Lines `first`.. as 'number<TAB>text' within the limits, the next line, lines seen."""
    lines: list[str] = []
    used = 0
    number = 0
    for number, line in enumerate(bounded_lines(text), start=1):
        if number < first:
            continue
        entry = f"{number:>6}\t{line}"
        if len(lines) >= limit or (lines and used + len(entry) + 1 > budget):
            return lines, number, number
        lines.append(entry)
        used += len(entry) + 1
    return lines, None, number


def write_text(ws: Workspace, path: str, content: str, append: bool) -> str:
    if len(content) > MAX_WRITE_CHARS:
        raise ToolException(f"content is {len(content)} characters; the limit is {MAX_WRITE_CHARS}")
    data = content.encode("utf-8")
    with (
        _charged(len(data)),
        ws.writable(path, append) as (fd, shown, existed),
        os_errors("write", path),
        os.fdopen(fd, "wb", closefd=False) as file,
    ):
        file.write(data)
    action = "appended to" if append and existed else "replaced" if existed else "created"
    return f"Wrote {len(content)} characters to '{shown}' ({action})."


@contextmanager
def _charged(size: int) -> Iterator[None]:
    """Count `size` bytes against the turn's write budget; refunded if the write fails."""
    budget = current_budget()
    if budget is not None:
        budget.charge(size)
    try:
        yield
    except BaseException:
        if budget is not None:
            budget.refund(size)
        raise
