"""A requests-per-second cap: GCRA (the token bucket's cheaper twin) with a burst allowance.

Its state is one float, the theoretical arrival time of the next request; a request may go
when that time is at most ``(burst - 1) / rate`` ahead of now. The clock and the sleep are
injectable for tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

__all__ = ["RateLimiter"]


class RateLimiter:
    """Let at most ``burst`` requests through at once and ``rate`` per second on average.

    Over any window of ``w`` seconds at most ``burst + rate * w`` requests are let through.
    """

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        burst = 1 if burst is None else burst
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = float(rate)
        self.burst = burst
        self._interval = 1.0 / self.rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._tat: float | None = None  # theoretical arrival time of the next request
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        """Wait until the caller may send one request.

        Callers queue on a lock and each grant is checked against the clock when it is made,
        so tasks that wake late (a busy loop) cannot bunch up beyond the burst.
        """
        async with self._lock:
            while True:
                now = self._clock()
                tat = now if self._tat is None or self._tat < now else self._tat
                wait = tat - self._tolerance - now
                if wait <= 0:
                    self._tat = tat + self._interval
                    return
                await self._sleep(wait)
