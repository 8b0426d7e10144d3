"""The workspace the file tools share: every path is opened beneath its root (jail.py),
and every failure is told to the model in its own relative terms, never the server's."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from langchain_core.tools import ToolException

from .jail import LOCATE_FLAGS, MAX_LINK_HOPS, LinkLoop, Opened, OutsideRoot, open_beneath

READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC  # a FIFO must not block the open
WRITE_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC
HARD_LINKS_SETTING = "TOOLS_FILES_ALLOW_HARDLINKS"


class Workspace:
    """A directory the file tools may use; nothing outside it is ever read or written."""

    def __init__(self, root: Path, allow_hard_links: bool = False) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.allow_hard_links = allow_hard_links

    @contextmanager
    def opened(
        self, path: str, flags: int = READ_FLAGS, make_dirs: bool = False
    ) -> Iterator[Opened]:
        """`path` opened beneath the root with `flags` (closed after); errors become
        ToolExceptions naming only the model's own path."""
        text = (path or ".").strip() or "."
        if PurePosixPath(text).is_absolute() or Path(text).is_absolute():
            raise ToolException(
                f"'{path}' is an absolute path; use a path relative to the workspace, "
                "for example 'notes/todo.txt' or '.'"
            )
        try:
            root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:  # its message would name the server's path
            reason = error.strerror or type(error).__name__
            raise ToolException(f"the workspace cannot be opened: {reason}") from None
        try:
            with _told_to_model(path):
                opened = open_beneath(root_fd, PurePosixPath(self.root), text, flags, make_dirs)
        finally:
            os.close(root_fd)
        try:
            yield opened
        finally:
            os.close(opened.fd)

    @contextmanager
    def file(self, path: str) -> Iterator[tuple[int, str]]:
        """The regular file at `path`, opened for reading, and its name for the model."""
        with self.opened(path) as opened:
            shown = display(opened.parts)
            status = os.fstat(opened.fd)
            if stat.S_ISDIR(status.st_mode):
                raise ToolException(f"'{path}' is a directory; use list_files to see its contents")
            self.check_file(status, shown)
            os.set_blocking(opened.fd, True)
            yield opened.fd, shown

    @contextmanager
    def writable(self, path: str, append: bool) -> Iterator[tuple[int, str, bool]]:
        """The regular file at `path` opened for writing (created with its folders when
        missing; emptied unless `append`), its name for the model, and whether it existed."""
        existed = self.exists(path)
        flags = WRITE_FLAGS | os.O_CREAT | (os.O_APPEND if append else 0)
        with self.opened(path, flags, make_dirs=True) as opened:
            shown = display(opened.parts)
            status = os.fstat(opened.fd)
            if stat.S_ISDIR(status.st_mode):
                raise ToolException(
                    f"'{path}' is a directory; give a file path such as 'notes/todo.txt'"
                )
            self.check_file(status, shown)  # before emptying it: O_TRUNC would come too soon
            os.set_blocking(opened.fd, True)
            if not append:
                os.ftruncate(opened.fd, 0)
            yield opened.fd, shown, existed

    def exists(self, path: str) -> bool:
        """Whether `path` names something inside the workspace (links followed inside)."""
        try:
            with self.opened(path, LOCATE_FLAGS):
                return True
        except ToolException:
            return False

    @contextmanager
    def directory(self, path: str) -> Iterator[Opened]:
        """The directory at `path`, opened for listing."""
        with self.opened(path) as opened:
            if not stat.S_ISDIR(os.fstat(opened.fd).st_mode):
                raise ToolException(f"'{path}' is a file, not a directory; use read_file for it")
            yield opened

    def check_file(self, status: os.stat_result, shown: str) -> None:
        """Raise the `refusal` of the file `shown`, if any."""
        if reason := self.refusal(status, shown):
            raise ToolException(reason)

    def refusal(self, status: os.stat_result, shown: str) -> str | None:
        """Why the file tools will not use the file `shown`: anything but a regular file,
        or one with other hard links unless allowed (another name may be outside)."""
        if not stat.S_ISREG(status.st_mode):
            return f"'{shown}' is not a regular file"
        if status.st_nlink > 1 and not self.allow_hard_links:
            return (
                f"'{shown}' has {status.st_nlink} hard links; files with more than one are "
                f"refused, since another may be outside the workspace ({HARD_LINKS_SETTING})"
            )
        return None

    def link_target(self, parts: tuple[str, ...]) -> str:
        """What the link at `parts` leads to, as a listing shows it."""
        try:
            with self.opened("/".join(parts), LOCATE_FLAGS) as opened:
                return f"link to {display(opened.parts)}"
        except ToolException as error:
            if "outside the workspace" in str(error):
                return "link to outside the workspace; not accessible"
            return "broken link; not accessible"


def display(parts: tuple[str, ...]) -> str:
    """A location as the model sees it: relative to the root, which is '.'."""
    return "/".join(parts) or "."


@contextmanager
def _told_to_model(path: str) -> Iterator[None]:
    try:
        yield
    except OutsideRoot:
        raise ToolException(
            f"'{path}' is outside the workspace; only paths inside it can be used "
            "('..' and links that lead outside are refused)"
        ) from None
    except LinkLoop:
        raise ToolException(
            f"'{path}' cannot be opened: its links loop or chain more than {MAX_LINK_HOPS} deep"
        ) from None
    except ValueError:  # a NUL byte
        raise ToolException(f"'{path}' is not a usable path") from None
    except OSError as error:
        raise ToolException(_os_error_text(path, error)) from None


def _os_error_text(path: str, error: OSError) -> str:
    if error.errno == errno.ENOENT:
        return f"'{path}' does not exist; use list_files to see what is there"
    if error.errno == errno.EISDIR:
        return f"'{path}' is a directory; give a file path such as 'notes/todo.txt'"
    if error.errno == errno.ENOTDIR:
        return f"'{path}' does not exist: a part of it is a file, not a directory"
    return f"could not open '{path}': {error.strerror or type(error).__name__}"
