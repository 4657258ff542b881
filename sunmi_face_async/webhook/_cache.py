"""A bounded memory of recently seen callbacks, for replay protection and idempotency.

A replay cache never forgets an entry before its expiry time: forgetting one would let an
exact replay through while it is still inside the timestamp window. When it holds
``max_entries`` unexpired entries it refuses new ones with :class:`ReplayCacheFullError`,
whose ``retry_after`` says when the soonest entry expires; a receiver answers "retry later"
(HTTP 503 with ``Retry-After``) and SUNMI delivers the callback again. The in-memory
:class:`ReplayCache` lives here; ``SqliteReplayCache`` keeps the same promise across restarts
and worker processes.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Hashable
from typing import ClassVar, Literal, Protocol

from ..errors import SunmiError

__all__ = ["Claim", "ReplayCache", "ReplayCacheError", "ReplayCacheFullError", "ReplayStore"]

#: What :meth:`ReplayStore.claim` found: a new key (now claimed), one being handled, or one done.
Claim = Literal["new", "pending", "done"]


class ReplayCacheError(SunmiError):
    """The replay cache cannot answer now; ``retry_after`` seconds is a sensible wait."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ReplayCacheFullError(ReplayCacheError):
    """Every place in the cache holds an unexpired entry, none of which may be forgotten.

    ``retry_after`` is the time, in seconds, until the soonest entry expires and frees room.
    """


class ReplayStore(Protocol):
    """What :func:`callback_app` and :func:`verify_callback` need from a replay cache.

    ``blocking`` says whether the calls may block (on disk or a lock): such a store is called
    from a worker thread, the others on the event loop.
    """

    blocking: ClassVar[bool]

    def contains(self, key: Hashable, *, now: float | None = None) -> bool: ...

    def add(self, key: Hashable, *, expires_at: float, now: float | None = None) -> bool: ...

    def claim(self, key: Hashable, *, lease_until: float, now: float | None = None) -> Claim: ...

    def confirm(self, key: Hashable, *, expires_at: float, now: float | None = None) -> None: ...

    def discard(self, key: Hashable) -> None: ...


def full_error(max_entries: int, soonest: float, now: float) -> ReplayCacheFullError:
    """The error for a cache holding ``max_entries`` entries, the soonest expiring then."""
    wait = max(1.0, math.ceil(soonest - now))
    return ReplayCacheFullError(
        f"replay cache is full: {max_entries} unexpired entries (max_entries={max_entries}); "
        f"the soonest expires in {wait:.0f} s",
        retry_after=wait,
    )


class ReplayCache:
    """Remembers keys until their own expiry time, holding at most ``max_entries``.

    Entries expire with the timestamp window: once a callback is too old to be accepted, its
    entry is no longer needed. An unexpired entry is never forgotten: when the cache is full,
    :meth:`add` and :meth:`claim` of a new key raise :class:`ReplayCacheFullError` until an
    entry expires. Only authenticated callbacks are added, so an outsider cannot fill it.
    Not thread-safe: use one per event loop (calls never await, so tasks of one loop may
    share it). Lost on restart and not shared between processes: see ``SqliteReplayCache``.
    """

    blocking: ClassVar[bool] = False

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._expiry: dict[Hashable, float] = {}
        self._pending: set[Hashable] = set()
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
        """Remember ``key`` until ``expires_at``; False if it was already remembered.

        Raises :class:`ReplayCacheFullError` for a new key when the cache is full.
        """
        current = time.time() if now is None else now
        self._purge(current)
        if key in self._expiry:
            if expires_at > self._expiry[key]:
                self._push(key, expires_at)
            return False
        self._make_room(current)
        self._push(key, expires_at)
        return True

    def claim(self, key: Hashable, *, lease_until: float, now: float | None = None) -> Claim:
        """Claim ``key`` for handling until ``lease_until``, unless it is known.

        Returns "done" for a confirmed key, "pending" for one claimed and not yet confirmed
        or discarded, and "new" after claiming it. Raises :class:`ReplayCacheFullError` for
        a new key when the cache is full, so nothing is handled that could not be remembered.
        """
        current = time.time() if now is None else now
        self._purge(current)
        if key in self._expiry:
            return "pending" if key in self._pending else "done"
        self._make_room(current)
        self._push(key, lease_until)
        self._pending.add(key)
        return "new"

    def confirm(self, key: Hashable, *, expires_at: float, now: float | None = None) -> None:
        """Mark a claimed ``key`` as done, remembered until ``expires_at``.

        It uses the place its claim took; a claim whose lease ran out is remembered again
        even when that briefly takes the cache past ``max_entries`` (never forgetting wins).
        """
        self._purge(time.time() if now is None else now)
        self._pending.discard(key)
        self._push(key, max(expires_at, self._expiry.get(key, expires_at)))

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` (its heap entry turns stale and is dropped later)."""
        self._expiry.pop(key, None)
        self._pending.discard(key)

    def _make_room(self, now: float) -> None:
        if len(self._expiry) < self.max_entries:
            return
        while self._expiry.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # stale entries on top do not say when room frees up
        raise full_error(self.max_entries, self._heap[0][0], now)

    def _push(self, key: Hashable, expires_at: float) -> None:
        self._expiry[key] = expires_at
        self._sequence += 1
        heapq.heappush(self._heap, (expires_at, self._sequence, key))
        if len(self._heap) > 2 * len(self._expiry) + 64:
            self._compact()

    def _purge(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] < now:
            expires_at, _, key = heapq.heappop(heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]
                self._pending.discard(key)

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if self._expiry.get(entry[2]) == entry[0]]
        heapq.heapify(self._heap)
