"""The rate limiter and the adaptive limit, on a fake clock (no real sleeping)."""

from __future__ import annotations

import anyio
import pytest

from sunmi_face_async.bulk import AdaptiveLimit, RateLimiter, Signal


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_rate_limiter_lets_a_burst_through_then_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, burst=2, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(6):
        await limiter.acquire()
        times.append(round(clock.now, 6))
    assert times == [0.0, 0.0, 0.2, 0.4, 0.6, 0.8]


async def test_rate_limiter_refills_after_idle_time_but_never_above_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    clock.now = 100.0  # a long pause refills the bucket to the burst, not beyond
    times = []
    for _ in range(5):
        await limiter.acquire()
        times.append(round(clock.now - 100.0, 6))
    assert times == [0.0, 0.0, 0.0, 0.1, 0.2]


async def test_concurrent_callers_never_exceed_the_window_bound() -> None:
    clock = FakeClock()

    async def slow_sleep(seconds: float) -> None:
        clock.now += seconds * 1.7  # a busy loop wakes sleepers late
        await anyio.lowlevel.checkpoint()

    limiter = RateLimiter(50, burst=4, clock=clock, sleep=slow_sleep)
    granted: list[float] = []

    async def caller() -> None:
        await limiter.acquire()
        granted.append(clock.now)

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(caller)
    assert len(granted) == 100
    for i, start in enumerate(granted):
        for window in (0.02, 0.1, 1.0):
            assert len([t for t in granted[i:] if t < start + window]) <= 4 + 50 * window


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (1, 0)])
def test_rate_limiter_rejects_nonsense(rate: float, burst: int | None) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RateLimiter(rate, burst)


def test_adaptive_limit_halves_on_throttling_once_per_cooldown() -> None:
    clock = FakeClock()
    changes: list[tuple[int, int, str]] = []
    limit = AdaptiveLimit(64, cooldown=1.0, clock=clock, on_change=lambda *c: changes.append(c))
    assert limit.limit == 64
    limit.record(Signal.THROTTLED, 0.05)
    limit.record(Signal.THROTTLED, 0.05)  # same burst of throttling: counted once
    assert limit.limit == 32
    clock.now = 1.5
    limit.record(Signal.THROTTLED, 0.05)
    assert limit.limit == 16
    assert changes == [(64, 32, "throttled"), (32, 16, "throttled")]


def test_adaptive_limit_cuts_a_quarter_on_server_errors_and_stops_at_the_minimum() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, minimum=4, cooldown=1.0, clock=clock)
    for _ in range(14):  # a quarter of the recent completions is reached at the 15th error
        limit.record(Signal.SERVER_ERROR, 0.05)
    assert limit.limit == 16
    limit.record(Signal.SERVER_ERROR, 0.05)
    assert limit.limit == 12
    for second in range(2, 20):
        clock.now = float(second)
        limit.record(Signal.SERVER_ERROR, 0.05)
    assert limit.limit == 4


def test_adaptive_limit_grows_back_to_the_cap_when_healthy() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(32, cooldown=1.0, clock=clock)
    limit.record(Signal.THROTTLED, 0.05)
    assert limit.limit == 16
    completions = 0
    while limit.limit < 32:
        limit.record(Signal.OK, 0.05)
        completions += 1
        assert limit.limit <= 32
    # additive increase of 1/limit per completion: about one per window of completions,
    # so 16 -> 32 takes roughly the sum of the window sizes (16 + 17 + ... + 31 = 376)
    assert 300 < completions < 450
    for _ in range(100):
        limit.record(Signal.OK, 0.05)
    assert limit.limit == 32


def test_adaptive_limit_shrinks_when_latency_rises_far_above_the_baseline() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(64, cooldown=1.0, clock=clock)
    for _ in range(50):
        limit.record(Signal.OK, 0.05)
    assert limit.limit == 64
    for step in range(200):
        clock.now = step * 0.1
        limit.record(Signal.OK, 0.8)  # 16 times the baseline
    assert limit.limit < 64


def test_adaptive_limit_ignores_small_absolute_latency_changes() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(64, cooldown=1.0, clock=clock)
    for _ in range(20):
        limit.record(Signal.OK, 0.001)
    for step in range(200):
        clock.now = step * 0.1
        limit.record(Signal.OK, 0.2)  # 200x, but only 0.2 s more: not congestion
    assert limit.limit == 64


def test_adaptive_limit_validates_its_bounds() -> None:
    with pytest.raises(ValueError, match="minimum"):
        AdaptiveLimit(4, minimum=5)
