"""Adaptive concurrency: AIMD on the limit of requests in flight.

The limit starts at the cap. A throttling answer halves it (the server said it is overloaded).
Server errors (5000, HTTP 5xx, a dropped connection) take a quarter off only once they are a
quarter or more of the recent completions: a few sporadic ones say nothing about load, and
cutting on each would halve a job's speed against a server that is merely flaky. Latency well
above the best seen recently takes a tenth off. At most one cut per cooldown, so one burst of
failures counts once. Each healthy completion adds ``1 / limit``,
so the limit grows by about one per round trip of the whole window until it is back at the
cap. Pure logic over an injectable clock: the engine feeds it and reads ``limit``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import anyio

__all__ = ["AdaptiveLimit", "Signal"]


class Signal(enum.Enum):
    """What one completed request says about the server's health."""

    OK = "ok"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"


class AdaptiveLimit:
    """An additive-increase, multiplicative-decrease limit between ``minimum`` and ``cap``."""

    throttle_factor = 0.5
    error_factor = 0.75
    latency_factor = 0.9
    #: Latency counts as rising above ``tolerance`` times the baseline and at least
    #: ``min_rise`` seconds more, so jitter (or a busy client machine) is not congestion.
    tolerance = 3.0
    min_rise = 0.25
    smoothing = 0.1
    #: How fast the baseline (the lowest latency seen) forgets, per completion.
    baseline_drift = 0.001
    #: Server errors cut the limit only while their share of recent completions (an
    #: average over about ``1 / error_smoothing`` of them) is at least ``error_share``.
    error_share = 0.25
    error_smoothing = 0.02

    def __init__(
        self,
        cap: int,
        *,
        minimum: int = 1,
        cooldown: float = 1.0,
        clock: Callable[[], float] = anyio.current_time,
        on_change: Callable[[int, int, str], None] | None = None,
    ) -> None:
        if cap < 1 or minimum < 1 or minimum > cap:
            raise ValueError("need 1 <= minimum <= cap")
        self.cap = cap
        self.minimum = minimum
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._limit = float(cap)
        self._last_cut: float | None = None
        self.baseline: float | None = None
        self.smoothed: float | None = None
        #: The recent share of completions that were server errors.
        self.error_rate = 0.0

    @property
    def limit(self) -> int:
        """The number of requests allowed in flight now."""
        return int(self._limit)

    def record(self, signal: Signal, latency: float) -> None:
        """Feed one finished request: what it said and how long it took."""
        failed = signal is Signal.SERVER_ERROR
        self.error_rate += (float(failed) - self.error_rate) * self.error_smoothing
        if signal is Signal.THROTTLED:
            self._cut(self.throttle_factor, "throttled")
            return
        if failed:
            if self.error_rate >= self.error_share:
                self._cut(self.error_factor, "server errors")
            return
        self._observe(latency)
        if self._latency_rising():
            self._cut(self.latency_factor, "latency rising")
        elif self._limit < self.cap:
            before = self.limit
            self._limit = min(float(self.cap), self._limit + 1.0 / self._limit)
            self._changed(before, "healthy")

    def _observe(self, latency: float) -> None:
        if self.baseline is None or latency < self.baseline:
            self.baseline = latency
        else:
            self.baseline += (latency - self.baseline) * self.baseline_drift
        if self.smoothed is None:
            self.smoothed = latency
        else:
            self.smoothed += (latency - self.smoothed) * self.smoothing

    def _latency_rising(self) -> bool:
        if self.baseline is None or self.smoothed is None:
            return False
        rise = self.smoothed - self.baseline
        return self.smoothed > self.baseline * self.tolerance and rise > self.min_rise

    def _cut(self, factor: float, reason: str) -> None:
        now = self._clock()
        if self._last_cut is not None and now - self._last_cut < self.cooldown:
            return
        self._last_cut = now
        before = self.limit
        self._limit = max(float(self.minimum), self._limit * factor)
        self._changed(before, reason)

    def _changed(self, before: int, reason: str) -> None:
        if self._on_change is not None and self.limit != before:
            self._on_change(before, self.limit, reason)
