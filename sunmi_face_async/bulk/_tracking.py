"""What a running enrollment tells its progress bar: the total to expect, and the phase.

With a shard, the total is the shard's: items with an external key (and bad rows, which
every shard reports) are counted exactly up front; items keyed by their picture's hash are
counted as they are read, the unread ones estimated as their share, so the total ends exact.
The phase says what the job does besides uploading (reconciling, waiting, retrying).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._policy import in_shard
from .manifest import FaceUpload

__all__ = ["Tracker"]


class Tracker:
    def __init__(self, shard: tuple[int, int] | None) -> None:
        self._shard = shard
        self._known = False
        self._keyed_counted = True
        self._exact = 0
        self._unkeyed_left = 0
        self._unkeyed_in = 0
        self.phase = ""
        self.retrying = {"throttled": 0, "refused": 0}

    def count(self, entries: Sequence[Any]) -> None:
        """Count the items of a known input (for the shard: see the module's docstring)."""
        self._known = True
        if self._shard is None:
            self._exact = len(entries)
            return
        for entry in entries:
            if isinstance(entry, FaceUpload) and not entry.external_key:
                self._unkeyed_left += 1
            elif not isinstance(entry, FaceUpload) or in_shard(
                entry.external_key or "", self._shard
            ):
                self._exact += 1

    def count_unsized(self, length: int) -> None:
        """An input with a length but no second pass: the shard's share of it."""
        self._known = True
        self._keyed_counted = False
        if self._shard is None:
            self._exact = length
        else:
            self._unkeyed_left = length

    def seen(self, keyed: bool, taken: bool) -> None:
        """An upload was read and sorted into this shard (``taken``) or another."""
        if self._shard is None or (keyed and self._keyed_counted):
            return
        self._unkeyed_left = max(0, self._unkeyed_left - 1)
        self._unkeyed_in += taken

    @property
    def total(self) -> int | None:
        if not self._known:
            return None
        if self._shard is None:
            return self._exact
        share = round(self._unkeyed_left / self._shard[1])
        return self._exact + self._unkeyed_in + share

    def text(self) -> str:
        """The phase, with the retries waiting: ``reconciling 32, retrying 3 throttled``."""
        parts = [self.phase] if self.phase else []
        if self.retrying["throttled"]:
            parts.append(f"retrying {self.retrying['throttled']} throttled")
        if self.retrying["refused"]:
            parts.append(f"retrying {self.retrying['refused']} refused")
        return ", ".join(parts)
