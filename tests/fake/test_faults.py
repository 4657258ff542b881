"""Fault injection: each kind of fault, determinism under a seed, and the counters."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy
from sunmi_face_async.errors import (
    DatabaseError,
    ServerError,
    ThrottledError,
    TransportError,
)
from sunmi_face_async.testing import FakeSunmiCloud, Fault, Faults

from .helpers import IN_PROCESS_URL, PNG, RawApi, Surface


@pytest.fixture
async def cloud_raw() -> AsyncIterator[tuple[FakeSunmiCloud, RawApi]]:
    cloud = FakeSunmiCloud(seed=7)
    async with httpx.AsyncClient(base_url=IN_PROCESS_URL, transport=cloud.transport()) as http:
        yield cloud, RawApi(http, cloud.shop_no)


def _group_names(cloud: FakeSunmiCloud) -> list[str]:
    return [g.name for g in cloud.groups_of()]


async def test_an_injected_code_is_answered_and_nothing_changes(
    cloud_raw: tuple[FakeSunmiCloud, RawApi],
) -> None:
    cloud, raw = cloud_raw
    cloud.faults.error_rates = {5000: 1.0}
    assert (await raw.call("/face/group/create", name="VIP", type="5"))["code"] == 5000
    assert "VIP" not in _group_names(cloud)
    assert cloud.stats.faults_injected["code_5000"] == 1


async def test_an_injected_http_status(cloud_raw: tuple[FakeSunmiCloud, RawApi]) -> None:
    cloud, raw = cloud_raw
    cloud.faults.error_rates = {503: 1.0}
    response = await raw.post("/face/group/getList", raw.signed(raw.common()))
    assert response.status_code == 503


async def test_throttling_answers_429_with_retry_after(
    cloud_raw: tuple[FakeSunmiCloud, RawApi],
) -> None:
    cloud, raw = cloud_raw
    cloud.faults.update({"throttle_rate": 1.0, "retry_after": 7})
    response = await raw.post("/face/group/getList", raw.signed(raw.common()))
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json()["code"] != 0


async def test_a_dropped_connection_applies_nothing(
    cloud_raw: tuple[FakeSunmiCloud, RawApi],
) -> None:
    cloud, raw = cloud_raw
    cloud.faults.drop_rate = 1.0
    form = raw.signed({**raw.common(), "name": "VIP", "type": "5"})
    with pytest.raises(httpx.RemoteProtocolError):
        await raw.post("/face/group/create", form)
    assert "VIP" not in _group_names(cloud)


async def test_commit_then_timeout_applies_the_change(
    cloud_raw: tuple[FakeSunmiCloud, RawApi],
) -> None:
    cloud, raw = cloud_raw
    cloud.faults.commit_then_timeout_rate = 1.0
    form = raw.signed({**raw.common(), "name": "VIP", "type": "5"})
    with pytest.raises(httpx.RemoteProtocolError):
        await raw.post("/face/group/create", form)
    assert "VIP" in _group_names(cloud)


async def test_faults_can_target_endpoints(cloud_raw: tuple[FakeSunmiCloud, RawApi]) -> None:
    cloud, raw = cloud_raw
    cloud.faults.update({"error_rates": {"5000": 1.0}, "endpoints": ["/face/add"]})
    group_id = await raw.create_group("VIP")
    assert (await raw.add_face(group_id))["code"] == 5000
    assert cloud.faces_in(group_id) == []
    assert cloud.stats.faults_injected == {"code_5000": 1}


async def test_the_client_sees_each_fault_as_its_error_class() -> None:
    cloud = FakeSunmiCloud()
    group = cloud.shop_state().create_group("VIP", 5, None, None, [None] * 5)
    async with cloud.client(retry=RetryPolicy(max_attempts=1)) as client:
        for faults, error in [
            ({"error_rates": {5000: 1.0}}, DatabaseError),
            ({"error_rates": {502: 1.0}}, ServerError),
            ({"throttle_rate": 1.0, "retry_after": 3}, ThrottledError),
            ({"drop_rate": 1.0}, TransportError),
        ]:
            cloud.faults = Faults(**faults)  # type: ignore[arg-type]
            with pytest.raises(error):
                await client.groups.list()
        cloud.faults = Faults(commit_then_timeout_rate=1.0)
        with pytest.raises(TransportError) as info:
            await client.faces.add(group.group_id, pic=PNG)
        assert info.value.outcome_unknown
    assert len(cloud.faces_in(group.group_id)) == 1


async def test_the_client_retries_through_transient_faults() -> None:
    cloud = FakeSunmiCloud(seed=3, faults=Faults(error_rates={5000: 0.3, 503: 0.2}))
    fast = RetryPolicy(max_attempts=20, sleep=lambda _: anyio.sleep(0))
    async with cloud.client(retry=fast) as client:
        for _ in range(20):
            assert len(await client.groups.list()) == 3
    injected = cloud.stats.faults_injected
    assert injected["code_5000"] + injected["http_503"] > 0
    assert cloud.stats.requests_by_endpoint["/face/group/getList"] == 20 + sum(injected.values())


def test_draws_are_deterministic_under_a_seed() -> None:
    faults = Faults(jitter=0.5, error_rates={5000: 0.2, 503: 0.1}, throttle_rate=0.1)
    rng_a, rng_b, rng_c = random.Random(42), random.Random(42), random.Random(43)
    run_a = [faults.draw(rng_a) for _ in range(200)]
    run_b = [faults.draw(rng_b) for _ in range(200)]
    run_c = [faults.draw(rng_c) for _ in range(200)]
    assert run_a == run_b
    assert run_a != run_c
    kinds = {(f.kind, f.code) for f in run_a}
    assert kinds == {("none", None), ("error", 5000), ("error", 503), ("throttle", None)}
    assert all(0 <= f.latency < 0.5 for f in run_a)


def test_fault_draw_order_follows_the_documented_bands() -> None:
    class Fixed(random.Random):
        # Values are set after construction: on Python 3.10, random.Random.__new__ seeds
        # itself with the constructor's arguments, so a list argument raises TypeError.
        values: list[float]

        def random(self) -> float:
            return self.values.pop(0)

    def fixed(values: list[float]) -> Fixed:
        rng = Fixed(0)
        rng.values = values
        return rng

    faults = Faults(throttle_rate=0.1, error_rates={5000: 0.1, 502: 0.1}, drop_rate=0.1)
    faults.commit_then_timeout_rate = 0.1
    picks = {0.05: Fault(0.0, "throttle"), 0.15: Fault(0.0, "error", 502)}
    picks |= {0.25: Fault(0.0, "error", 5000), 0.35: Fault(0.0, "drop")}
    picks |= {0.45: Fault(0.0, "commit_then_timeout"), 0.55: Fault(0.0, "none")}
    for pick, expected in picks.items():
        assert faults.draw(fixed([0.0, pick])) == expected


def test_fault_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        Faults(drop_rate=0.6, throttle_rate=0.6).validate()
    with pytest.raises(ValueError, match="unknown"):
        Faults().update({"drop": 0.1})
    with pytest.raises(ValueError, match="between 0 and 1"):
        FakeSunmiCloud(faults=Faults(error_rates={5000: 1.5}))


async def test_latency_overlaps_and_is_counted_in_flight() -> None:
    cloud = FakeSunmiCloud(faults=Faults(latency=0.05))
    async with cloud.client() as client, anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(client.groups.list)
    assert cloud.stats.max_in_flight == 12
    assert cloud.stats.in_flight == 0
    assert cloud.stats.requests_by_endpoint == {"/face/group/getList": 12}
    assert len(cloud.stats.request_times) == 12
    cloud.reset_stats()
    assert (cloud.stats.max_in_flight, sum(cloud.stats.requests_by_endpoint.values())) == (0, 0)


async def test_latency_from_a_callable() -> None:
    calls: list[int] = []

    def latency() -> float:
        calls.append(1)
        return 0.0

    cloud = FakeSunmiCloud(faults=Faults(latency=latency))
    async with cloud.client() as client:
        await client.groups.list()
    assert calls == [1]


async def test_faults_over_real_sockets(surface: Surface, no_retry_client: AsyncSunmiFace) -> None:
    group = await no_retry_client.groups.create("VIP")
    try:
        await surface.set_faults(drop_rate=1.0, endpoints=["/face/add"])
        with pytest.raises(TransportError):
            await no_retry_client.faces.add(group.group_id, pic=PNG)
        assert await surface.faces_in(group.group_id) == []
        await surface.set_faults(drop_rate=0.0, commit_then_timeout_rate=1.0)
        with pytest.raises(TransportError) as info:
            await no_retry_client.faces.add(group.group_id, pic=PNG)
        assert info.value.outcome_unknown
        assert len(await surface.faces_in(group.group_id)) == 1
    finally:
        await surface.set_faults(commit_then_timeout_rate=0.0, endpoints=None)
    assert (await no_retry_client.groups.get(group.group_id)).count == 1


async def test_two_clouds_with_one_seed_fail_the_same_requests() -> None:
    async def outcomes(seed: int) -> list[str]:
        cloud = FakeSunmiCloud(seed=seed, faults=Faults(error_rates={5000: 0.4}, drop_rate=0.2))
        seen: list[str] = []
        async with cloud.client(retry=RetryPolicy(max_attempts=1)) as client:
            for _ in range(30):
                try:
                    await client.groups.list()
                    seen.append("ok")
                except (DatabaseError, TransportError) as exc:
                    seen.append(type(exc).__name__)
        return seen

    first = await outcomes(5)
    assert first == await outcomes(5)
    assert {"ok", "DatabaseError", "TransportError"} == set(first)
