"""Reading text files safely for the file tools: binary sniffing and bounded lines."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager

SNIFF_BYTES = 8192
MAX_LINE_CHARS = 1000


def looks_binary(head: bytes) -> bool:
    """NUL bytes do not occur in text files (UTF-16 included, which we do not decode)."""
    return b"\x00" in head


@contextmanager
def open_text(fd: int) -> Iterator[io.TextIOWrapper | None]:
    """The open file `fd` as UTF-8 text (bad bytes replaced), or None when it looks binary;
    `fd` stays open."""
    raw = os.fdopen(fd, "rb", closefd=False)
    try:
        if looks_binary(raw.read(SNIFF_BYTES)):
            yield None
            return
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as text:
            yield text
    finally:
        raw.close()


def bounded_lines(text: io.TextIOBase) -> Iterator[str]:
    """Lines without their newline; a huge line (minified code) is cut, never loaded whole."""
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            _skip_rest_of_line(text)
            yield line[:MAX_LINE_CHARS] + " …[line cut]"
        else:
            yield line.rstrip("\r\n")


def _skip_rest_of_line(text: io.TextIOBase) -> None:
    while True:
        chunk = text.readline(64 * 1024)
        if not chunk or chunk.endswith("\n"):
            return


def human_size(size: float) -> str:
    """1536 -> '1.5 KB'."""
    units = ("B", "KB", "MB", "GB", "TB")
    for unit in units[:-1]:
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} {units[-1]}"


def clip(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars`, saying so, so the model knows output is missing."""
    if len(text) <= max_chars:
        return text
    note = f"\n…[output cut at {max_chars} characters]"
    return text[: max_chars - len(note)] + note
