"""The generic streaming map: caps, ordering, filtering, flat memory and cancellation."""

from __future__ import annotations

import random
import threading
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from sunmi_face_async.bulk import AdaptiveLimit, BulkMap, RateLimiter, Signal


class Tracker:
    """Counts calls in flight; each call yields to the loop a varying number of times."""

    def __init__(self, seed: int = 1) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = 0
        self.finished = 0
        self.rng = random.Random(seed)

    async def call(self, item: int) -> int:
        self.in_flight += 1
        self.started += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(self.rng.randint(0, 20)):
                await anyio.lowlevel.checkpoint()
            return item * 10
        finally:
            self.in_flight -= 1
            self.finished += 1


async def test_every_item_gives_exactly_one_result_under_the_concurrency_cap() -> None:
    tracker = Tracker()
    results = await collect(BulkMap(range(500), tracker.call, concurrency=7, adaptive=False))
    assert sorted(results) == [i * 10 for i in range(500)]
    assert tracker.max_in_flight == 7


async def test_unordered_results_stream_as_they_finish() -> None:
    release = anyio.Event()

    async def call(item: int) -> int:
        if item == 0:
            await release.wait()  # the first item is slow
        return item

    seen = []
    async with BulkMap(range(5), call, concurrency=5, adaptive=False) as results:
        async for result in results:
            seen.append(result)
            if len(seen) == 4:
                release.set()
    assert seen[:4] == [1, 2, 3, 4]
    assert seen[4] == 0


async def test_ordered_mode_keeps_the_input_order() -> None:
    tracker = Tracker(seed=7)
    engine = BulkMap(range(300), tracker.call, concurrency=9, adaptive=False, ordered=True)
    assert await collect(engine) == [i * 10 for i in range(300)]


async def test_async_iterable_input_and_none_results_are_dropped() -> None:
    async def numbers() -> AsyncIterator[int]:
        for i in range(50):
            await anyio.lowlevel.checkpoint()
            yield i

    async def keep_even(item: int) -> int | None:
        return item if item % 2 == 0 else None

    results = await collect(BulkMap(numbers(), keep_even, concurrency=4, ordered=True))
    assert results == list(range(0, 50, 2))


@pytest.mark.parametrize("ordered", [False, True])
async def test_the_input_is_pulled_lazily_so_memory_stays_flat(ordered: bool) -> None:
    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for i in range(5000):
            pulled += 1
            yield i

    consumed = 0
    furthest_ahead = 0
    async with BulkMap(items(), Tracker().call, concurrency=8, ordered=ordered) as results:
        async for _ in results:
            consumed += 1
            furthest_ahead = max(furthest_ahead, pulled - consumed)
    assert consumed == 5000
    # workers + result buffer (or the ordered window) + one batch pulled in a thread:
    # bounded by the concurrency, not by the input
    assert furthest_ahead <= (4 * 8 + 8 + 2 if ordered else 3 * 8 + 2)


async def test_a_lazy_iterator_is_advanced_off_the_event_loop_thread() -> None:
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def items() -> Iterator[int]:
        for i in range(100):
            threads.add(threading.get_ident())
            yield i

    async def same(item: int) -> int:
        return item

    assert len(await collect(BulkMap(items(), same, concurrency=4))) == 100
    assert threads
    assert loop_thread not in threads


async def test_cancelling_the_consumer_stops_every_worker_and_reports_the_in_flight_items() -> None:
    started = []
    finished = []
    abandoned: list[int] = []

    async def call(item: int) -> int:
        started.append(item)
        try:
            await anyio.sleep_forever()
        finally:
            finished.append(item)
        return item

    engine = BulkMap(range(100), call, concurrency=5, adaptive=False, on_abandoned=abandoned.append)
    with anyio.move_on_after(0.05):
        async with engine as stream:
            async for _ in stream:
                pass
    assert sorted(abandoned) == sorted(started)
    assert len(started) == 5
    assert sorted(finished) == sorted(started)  # no orphan: every call ended


async def test_leaving_the_loop_early_cancels_the_rest() -> None:
    tracker = Tracker()
    engine = BulkMap(range(1000), tracker.call, concurrency=6, adaptive=False)
    async with engine as stream:
        async for result in stream:
            if result >= 0:
                break
    assert tracker.in_flight == 0
    assert tracker.started < 1000
    assert tracker.started == tracker.finished


async def test_an_adaptive_limit_below_the_cap_is_enforced() -> None:
    limit = AdaptiveLimit(16, cooldown=1000.0)
    limit.record(Signal.THROTTLED, 0.01)  # 16 -> 8, and no growth: every call is throttled
    tracker = Tracker()
    engine: BulkMap[int, int] = BulkMap(
        range(200), tracker.call, concurrency=16, adaptive=limit, signal=lambda r: Signal.THROTTLED
    )
    assert len(await collect(engine)) == 200
    assert tracker.max_in_flight == 8


async def test_a_shared_rate_limiter_spaces_the_calls() -> None:
    now = 0.0
    stamps: list[float] = []

    def clock() -> float:
        return now

    async def fake_sleep(seconds: float) -> None:
        nonlocal now
        now += seconds
        await anyio.lowlevel.checkpoint()

    async def call(item: int) -> int:
        stamps.append(now)
        return item

    limiter = RateLimiter(100, burst=5, clock=clock, sleep=fake_sleep)
    engine = BulkMap(range(105), call, concurrency=10, adaptive=False, limiter=limiter)
    assert len(await collect(engine)) == 105
    stamps.sort()
    for i, start in enumerate(stamps):
        assert len([t for t in stamps[i:] if t < start + 0.1]) <= 5 + 10


def test_the_engine_runs_under_trio() -> None:
    async def main() -> list[int]:
        tracker = Tracker()
        return await collect(BulkMap(range(100), tracker.call, concurrency=4, ordered=True))

    assert anyio.run(main, backend="trio") == [i * 10 for i in range(100)]


async def test_a_bulk_map_is_entered_once() -> None:
    engine = BulkMap(range(3), Tracker().call, concurrency=2)
    assert sorted(await collect(engine)) == [0, 10, 20]
    with pytest.raises(RuntimeError, match="entered only once"):
        async with engine:
            pass


async def test_iterating_a_bulk_map_directly_still_works_but_warns() -> None:
    engine = BulkMap(range(4), Tracker().call, concurrency=2, ordered=True)
    with pytest.warns(DeprecationWarning, match="async with BulkMap"):
        stream = engine.__aiter__()
    try:
        assert [r async for r in stream] == [0, 10, 20, 30]
    finally:
        await stream.aclose()


async def test_the_old_gate_calls_keyword_still_works_but_warns() -> None:
    tracker = Tracker()
    with pytest.warns(DeprecationWarning, match="slot_per_call"):
        engine = BulkMap(range(200), tracker.call, concurrency=2, adaptive=False, gate_calls=False)
    assert len(await collect(engine)) == 200
    # the calls hold no slot, so the extra workers run them beyond the cap of 2
    assert tracker.max_in_flight > 2


async def collect(engine: BulkMap[int, int]) -> list[int]:
    async with engine as results:
        return [r async for r in results]
