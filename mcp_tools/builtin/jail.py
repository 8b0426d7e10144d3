"""Open paths beneath a directory descriptor one component at a time, as openat2's
RESOLVE_BENEATH would (Python has no binding for it).

Each component is opened relative to the descriptor of the directory before it, with
O_NOFOLLOW, so the kernel never follows a link for us: a directory swapped for a link while
a call is in flight makes that open fail instead of leading out. Links are followed here,
by reading them and walking their target from the right place, so a link inside the root
to a place inside the root still works; a target outside the root is refused.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_LINK_HOPS = 40  # the kernel's own limit (MAXSYMLINKS)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
LOCATE_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class OutsideRoot(Exception):
    """The path, or a link on its way, leads outside the root."""


class LinkLoop(Exception):
    """Following the path's links took more than MAX_LINK_HOPS steps."""


@dataclass(frozen=True)
class Opened:
    """A descriptor (the caller closes it) and where it is, relative to the root."""

    fd: int
    parts: tuple[str, ...]


class _Walk:
    """The directories opened so far below the root, deepest last."""

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self.names: list[str] = []
        self.fds: list[int] = []

    @property
    def here(self) -> int:
        return self.fds[-1] if self.fds else self.root_fd

    def enter(self, name: str, fd: int) -> None:
        self.names.append(name)
        self.fds.append(fd)

    def up(self) -> None:
        if not self.fds:
            raise OutsideRoot
        os.close(self.fds.pop())
        self.names.pop()

    def back_to_root(self) -> None:
        while self.fds:
            self.up()


def open_beneath(
    root_fd: int, root: PurePosixPath, path: str, flags: int, make_dirs: bool = False
) -> Opened:
    """Open `path` (relative) beneath `root_fd` with `flags` (O_NOFOLLOW is added).

    `root` is the root's own absolute path, used only to read absolute link targets.
    A path naming a directory by '.' or '..' at its end gets a new descriptor of it.
    `make_dirs` creates missing directories on the way (not the last component).
    Raises OutsideRoot, LinkLoop, or the OSError of the component that failed.
    """
    walk = _Walk(root_fd)
    pending = list(reversed(PurePosixPath(path).parts))
    hops = 0
    try:
        while pending:
            name = pending.pop()
            if name == "..":
                walk.up()
                continue
            if name == ".":
                continue
            last = not pending
            fd = _open_one(walk.here, name, flags if last else DIR_FLAGS, make_dirs and not last)
            if fd is None:  # a link: walk its target instead
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise LinkLoop
                pending += reversed(_link_parts(walk, name, root))
            elif last:
                return Opened(fd, (*walk.names, name))
            else:
                walk.enter(name, fd)
        return Opened(os.dup(walk.here), tuple(walk.names))
    finally:
        for fd in walk.fds:
            os.close(fd)


def _open_one(dir_fd: int, name: str, flags: int, make_dir: bool) -> int | None:
    """The descriptor of `name` in `dir_fd`, or None when `name` is a link."""
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(dir_fd, name):
            return None
        if error.errno == errno.ENOENT and make_dir:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
            return _open_one(dir_fd, name, flags, make_dir=False)
        raise
    if flags & os.O_PATH and stat.S_ISLNK(os.fstat(fd).st_mode):
        os.close(fd)  # O_PATH | O_NOFOLLOW opens a link itself
        return None
    return fd


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _link_parts(walk: _Walk, name: str, root: PurePosixPath) -> tuple[str, ...]:
    """The components to walk instead of the link `name` in the current directory; an
    absolute target restarts the walk at the root, if it names a place beneath it."""
    try:
        target = PurePosixPath(os.readlink(name, dir_fd=walk.here))
    except OSError as error:
        if error.errno == errno.EINVAL:  # no longer a link (swapped back): open it again
            return (name,)
        raise
    if not target.is_absolute():
        return target.parts
    if not target.is_relative_to(root):
        raise OutsideRoot
    walk.back_to_root()
    return target.relative_to(root).parts


def walk_tree(
    dir_fd: int, parts: tuple[str, ...], skip: set[str]
) -> Iterator[tuple[tuple[str, ...], os.DirEntry[str], int]]:
    """(parts of the entry's directory, entry, that directory's fd) for everything below
    `dir_fd`, sorted by name, directories before the files, no link ever entered.

    A subdirectory is opened relative to its parent without following links, so one
    swapped for a link during the walk is skipped, never entered. Directories named in
    `skip` are left out."""
    with os.scandir(dir_fd) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    subdirs = [e for e in entries if e.is_dir(follow_symlinks=False) and e.name not in skip]
    for entry in subdirs + [e for e in entries if not e.is_dir(follow_symlinks=False)]:
        yield parts, entry, dir_fd
    for entry in subdirs:
        try:
            child = os.open(entry.name, DIR_FLAGS, dir_fd=dir_fd)
        except OSError:  # gone, unreadable, or swapped for a link: not entered
            continue
        try:
            yield from walk_tree(child, (*parts, entry.name), skip)
        finally:
            os.close(child)
