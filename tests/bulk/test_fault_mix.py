"""Under faults the adaptive limit reacts to overload, not to noise: 429s shrink it at once,
sporadic 5000s, HTTP 5xx and dropped connections do not collapse it."""

from __future__ import annotations

from sunmi_face_async.bulk import AdaptiveLimit, BulkEvent, FaceUpload, Outcome, Signal, enroll
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sporadic_server_errors_never_cut_the_limit() -> None:
    clock = Clock()
    changes: list[tuple[int, int, str]] = []
    limit = AdaptiveLimit(16, cooldown=1.0, clock=clock, on_change=lambda *c: changes.append(c))
    for i in range(2000):  # 20 s at 100 completions a second, one in 20 a server error
        clock.now = i * 0.01
        limit.record(Signal.SERVER_ERROR if i % 20 == 7 else Signal.OK, 0.025)
    assert changes == []
    assert limit.limit == 16


def test_a_server_failing_most_calls_still_shrinks_the_limit() -> None:
    clock = Clock()
    changes: list[tuple[int, int, str]] = []
    limit = AdaptiveLimit(16, cooldown=1.0, clock=clock, on_change=lambda *c: changes.append(c))
    for i in range(300):  # 3 s, every third call a server error
        clock.now = i * 0.01
        limit.record(Signal.SERVER_ERROR if i % 3 == 0 else Signal.OK, 0.025)
    assert (16, 12, "server errors") in changes


def test_one_throttle_among_healthy_calls_halves_the_limit_at_once() -> None:
    clock = Clock()
    changes: list[tuple[int, int, str]] = []
    limit = AdaptiveLimit(16, cooldown=1.0, clock=clock, on_change=lambda *c: changes.append(c))
    for i in range(50):
        clock.now = i * 0.01
        limit.record(Signal.OK, 0.025)
    limit.record(Signal.THROTTLED, 0.025)
    assert changes == [(16, 8, "throttled")]


async def _limit_events(cloud: FakeSunmiCloud, count: int) -> tuple[list[str], int]:
    events: list[BulkEvent] = []
    async with cloud.client() as client:
        group = await client.groups.create("mix", capacity=10_000, customer_keys=["k"])
        cloud.faults.update({"endpoints": ["/face/add"]})
        job = enroll(
            client,
            [FaceUpload(group.group_id, picture(i), external_key=f"k{i}") for i in range(count)],
            concurrency=16,
            external_key_slot=1,
            retry_delay=0,
            # Enough tries that no upload runs out of them by bad luck (a 5 % fault rate
            # fails one of 400 items three times in a row about once in 20 runs).
            max_attempts=10,
            on_event=events.append,
        )
        report = await job.run()
    limits = [event.detail for event in events if event.kind == "limit"]
    return limits, report.counts[Outcome.DONE]


async def test_an_enrollment_under_the_demo_fault_mix_keeps_its_concurrency() -> None:
    cloud = FakeSunmiCloud(seed=5)
    mix = {"error_rates": {5000: 0.02, 503: 0.01}, "drop_rate": 0.01}
    cloud.faults.update({**mix, "commit_then_timeout_rate": 0.02})
    limits, done = await _limit_events(cloud, 400)
    assert sum(cloud.stats.faults_injected.values()) >= 10
    assert done == 400
    assert limits == []


async def test_an_enrollment_that_is_throttled_shrinks_its_concurrency() -> None:
    cloud = FakeSunmiCloud(seed=5)
    cloud.faults.update({"throttle_rate": 0.05, "retry_after": 0})
    limits, done = await _limit_events(cloud, 400)
    assert cloud.stats.faults_injected.get("throttle", 0) >= 5
    assert done == 400
    assert limits[:1] == ["concurrency 16 -> 8: throttled"]
