"""What the file tools do, as plain blocking functions over a `Workspace`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from langchain_core.tools import ToolException

from .textio import bounded_lines, clip, human_size, open_text
from .workspace import Workspace, open_no_follow

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
    real = ws.existing_dir(path)
    lines: list[str] = []
    with os_errors("list", path):
        for entry in _entries(real, recursive):
            if pattern and not fnmatch(entry.name, pattern):
                continue
            if len(lines) == MAX_LIST_ENTRIES:
                lines.append(f"…stopped at {MAX_LIST_ENTRIES} entries; narrow path or pattern")
                break
            lines.append(_describe(ws, entry))
    where = ws.display(real)
    if not lines:
        suffix = f" matching '{pattern}'" if pattern else ""
        return f"'{where}' has no entries{suffix}."
    return clip(f"Contents of '{where}' (directories end with /):\n" + "\n".join(lines), budget)


def _entries(real: Path, recursive: bool) -> Iterator[Path]:
    if not recursive:
        yield from sorted(real.iterdir())
        return
    # followlinks=False: a linked directory is listed, never entered.
    for folder, dirs, files in os.walk(real, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in dirs + sorted(files):
            yield Path(folder, name)


def _describe(ws: Workspace, entry: Path) -> str:
    name = entry.relative_to(ws.root).as_posix()
    if entry.is_symlink():
        if not ws.contains(entry):
            return f"{name}  (link to outside the workspace; not accessible)"
        return f"{name}  (link to {ws.display(entry.resolve())})"
    if entry.is_dir():
        return f"{name}/"
    return f"{name}  ({human_size(entry.stat().st_size)})"


def read_text(ws: Workspace, path: str, offset: int, limit: int, budget: int) -> str:
    real = ws.existing_file(path)
    shown = ws.display(real)
    with os_errors("read", path), open_text(real) as text:
        if text is None:
            size = human_size(real.stat().st_size)
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
    real = ws.resolve(path)
    if real == ws.root or real.is_dir():
        raise ToolException(f"'{path}' is a directory; give a file path such as 'notes/todo.txt'")
    existed = real.exists()
    mode = os.O_APPEND if append else os.O_TRUNC
    with os_errors("write", path):
        # real.parent is already resolved and inside the root, so mkdir cannot leave it.
        real.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(open_no_follow(real, os.O_WRONLY | os.O_CREAT | mode), "wb") as file:
            file.write(content.encode("utf-8"))
    action = "appended to" if append and existed else "replaced" if existed else "created"
    return f"Wrote {len(content)} characters to '{ws.display(real)}' ({action})."
