"""The path jail shared by the file tools: every path is resolved inside one root."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from langchain_core.tools import ToolException


class Workspace:
    """A directory the file tools may use; nothing outside it is ever read or written."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def resolve(self, path: str) -> Path:
        """The real location of `path` (relative to the root), refused if it leaves the root.

        `Path.resolve()` follows every symlink, including directories in the middle of the
        path, so checking the resolved result catches `..`, absolute paths and links that
        point outside.
        """
        text = (path or ".").strip()
        if PurePosixPath(text).is_absolute() or Path(text).is_absolute():
            raise ToolException(
                f"'{path}' is an absolute path; use a path relative to the workspace, "
                "for example 'notes/todo.txt' or '.'"
            )
        try:
            real = (self.root / text).resolve()
        except (OSError, RuntimeError, ValueError):  # link loops, NUL bytes
            raise ToolException(f"'{path}' is not a usable path") from None
        if not real.is_relative_to(self.root):
            raise ToolException(
                f"'{path}' is outside the workspace; only paths inside it can be used "
                "('..' and links that lead outside are refused)"
            )
        return real

    def contains(self, path: Path) -> bool:
        """Whether `path`, with every link followed, stays inside the root."""
        return path.resolve().is_relative_to(self.root)

    def display(self, real: Path) -> str:
        """`real` as the model should see it: relative to the root, never absolute."""
        relative = real.relative_to(self.root).as_posix()
        return relative if relative != "." else "."

    def existing_file(self, path: str) -> Path:
        """The resolved regular file at `path`, or a ToolException saying what is there."""
        real = self.resolve(path)
        if not real.exists():
            raise ToolException(f"'{path}' does not exist; use list_files to see what is there")
        if real.is_dir():
            raise ToolException(f"'{path}' is a directory; use list_files to see its contents")
        return real

    def existing_dir(self, path: str) -> Path:
        """The resolved directory at `path`, or a ToolException saying what is there."""
        real = self.resolve(path)
        if not real.exists():
            raise ToolException(f"'{path}' does not exist; use list_files on '.' to start")
        if not real.is_dir():
            raise ToolException(f"'{path}' is a file, not a directory; use read_file for it")
        return real


def open_no_follow(real: Path, flags: int, mode: int = 0o644) -> int:
    """os.open that refuses a symlink swapped in at the last component after the check,
    and anything but a regular file (a FIFO or device would block the worker forever)."""
    extra = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(real, flags | extra, mode)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ToolException(f"{real.name} is not a regular file")
    os.set_blocking(fd, True)
    return fd
