"""One process per journal: an exclusive advisory lock on a sidecar ``JOURNAL.lock`` file.

Two processes writing one journal would each take the other's in-flight items for an
earlier run's unknowns, and two creating it at once would race on its schema. The lock is
an ``flock`` held for as long as the journal is open: the kernel drops it when the process
ends, even by SIGKILL, so a killed job never leaves a stale lock behind. The sidecar file
holds the owner's pid (for the refusal message) and is left in place when the lock is
released (removing it would let a third process lock a file the second is about to lock).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3

from ._journal_file import JournalError, connect

__all__ = ["JournalLock", "discard", "lock_path", "open_locked"]


def lock_path(path: str) -> str:
    """The sidecar lock file of the journal at ``path``."""
    return path + ".lock"


class JournalLock:
    """The exclusive lock of one journal, taken at once or refused (never waited for)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ``JournalError`` (kind ``busy``) naming the owner's pid."""
        if self._fd is not None:
            return
        sidecar = lock_path(self.path)
        try:
            fd = os.open(sidecar, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            cause = exc.strerror or type(exc).__name__
            raise JournalError(
                self.path, "io", cause, f"cannot write the journal {self.path}: {cause}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                cause = exc.strerror or type(exc).__name__
                raise JournalError(
                    self.path, "io", cause, f"cannot lock the journal {self.path}: {cause}"
                ) from None
            said = f"pid {owner}" if owner else "pid unknown"
            raise JournalError(
                self.path,
                "busy",
                said,
                f"the journal {self.path} is in use by another process ({said})",
            ) from None
        # The pid is a courtesy for the message: a full disk must not stop the job here.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor drops the flock


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def open_locked(
    path: str, resume: bool | None
) -> tuple[sqlite3.Connection, JournalLock | None, bool]:
    """Lock the journal at ``path``, then open it: (connection, lock, created by this call).

    A private journal (``""``/``":memory:"``) is not locked. A journal this call created
    is removed again if it cannot be set up, so a failed start leaves no file behind.
    """
    if path in ("", ":memory:"):
        return connect(path, resume=resume), None, False
    lock = JournalLock(path)
    lock.acquire()
    created = not _has_content(path)
    try:
        return connect(path, resume=resume), lock, created
    except BaseException:
        if created and not resume:
            discard(path)
        lock.release()
        raise


def discard(path: str) -> None:
    """Remove a journal that holds no job (and its WAL files): it never began."""
    for name in (path, path + "-wal", path + "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(name)


def _has_content(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False
