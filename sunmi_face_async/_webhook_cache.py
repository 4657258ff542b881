"""A bounded memory of recently seen callbacks, for replay protection and idempotency."""

from __future__ import annotations

import heapq
import time
from collections.abc import Hashable

__all__ = ["ReplayCache"]


class ReplayCache:
    """Remembers keys until their own expiry time, holding at most ``max_entries``.

    Entries expire with the timestamp window: once a callback is too old to be accepted, its
    entry is no longer needed. When full, the entry closest to expiry is forgotten first. Only
    authenticated callbacks are added, so an outsider cannot fill the cache. Not thread-safe:
    use one per event loop (calls never await, so tasks of one loop may share it).
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._expiry: dict[Hashable, float] = {}
        # (expires_at, sequence, key); entries whose expiry no longer matches are stale.
        self._heap: list[tuple[float, int, Hashable]] = []
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._expiry)

    def __repr__(self) -> str:
        return f"ReplayCache(entries={len(self._expiry)}, max_entries={self.max_entries})"

    def contains(self, key: Hashable, *, now: float | None = None) -> bool:
        """Whether ``key`` was added and has not expired at ``now`` (unix seconds)."""
        self._purge(time.time() if now is None else now)
        return key in self._expiry

    def add(self, key: Hashable, *, expires_at: float, now: float | None = None) -> bool:
        """Remember ``key`` until ``expires_at``; False if it was already remembered."""
        self._purge(time.time() if now is None else now)
        if key in self._expiry:
            if expires_at > self._expiry[key]:
                self._push(key, expires_at)
            return False
        self._push(key, expires_at)
        while len(self._expiry) > self.max_entries:
            self._pop_soonest()
        return True

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (its heap entry turns stale and is dropped later)."""
        self._expiry.pop(key, None)

    def _push(self, key: Hashable, expires_at: float) -> None:
        self._expiry[key] = expires_at
        self._sequence += 1
        heapq.heappush(self._heap, (expires_at, self._sequence, key))
        if len(self._heap) > 2 * len(self._expiry) + 64:
            self._compact()

    def _pop_soonest(self) -> None:
        while self._heap:
            expires_at, _, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]
                return

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < now:
            expires_at, _, key = heapq.heappop(heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if self._expiry.get(entry[2]) == entry[0]]
        heapq.heapify(self._heap)
