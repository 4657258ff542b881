"""Opening files named by callers without ever blocking on what is not a regular file.

A path may name anything: a FIFO blocks ``open()`` until a writer appears (and a worker
thread stuck there ignores Ctrl-C), a device never ends, a socket cannot be opened. Only
regular files are opened, and the check is repeated on the opened descriptor, so a file
swapped for a FIFO in between cannot block either (``O_NONBLOCK`` keeps ``open`` itself
from waiting).
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

__all__ = ["NotRegularFile", "file_kind", "open_regular", "shown"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class NotRegularFile(ValueError):
    """The path names something other than a regular file; ``kind`` says what."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        self.path = shown(path)
        self.kind = kind
        super().__init__(f"{kind}, not a regular file: {self.path}")


def shown(path: str | os.PathLike[str]) -> str:
    """``path`` as printable text: bytes that are not UTF-8 appear as ``\\xe9``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a special file"


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """None for a regular file (or a link to one), else what ``path`` is, for a message.

    Raises ``FileNotFoundError`` when nothing is there (a broken symbolic link is reported
    as such) and ``OSError`` when it cannot be looked at.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return "a broken symbolic link"
        raise
    return None if stat.S_ISREG(mode) else _kind(mode)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for binary reading; ``NotRegularFile`` for anything else."""
    kind = file_kind(path)
    if kind is not None:
        raise NotRegularFile(path, kind)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, _kind(mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
