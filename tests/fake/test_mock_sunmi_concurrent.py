"""One ``mock_sunmi()`` object shared by concurrent tasks and threads: each ``with`` is undone in
its own context, in any order, and nothing stays intercepted afterwards.

Clients point at a closed loopback port (``127.0.0.1:9``): one that is not intercepted fails
at once instead of reaching any network.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.testing import FakeSunmiCloud, mock_sunmi, mocked_cloud

UNREACHABLE = "http://127.0.0.1:9/openapi"
SHOP = "777001"

#: Module level, as a test suite shares one configured mock between its tests.
SHARED = mock_sunmi(seed=7)


async def _create(name: str) -> None:
    async with AsyncSunmiFace("APP", "key", sunmi_shop_no=SHOP, base_url=UNREACHABLE) as client:
        await client.groups.create(name)


def _names(cloud: FakeSunmiCloud) -> list[str]:
    return [group.name for group in cloud.groups_of(SHOP)][3:]  # after the 3 default groups


async def test_tasks_sharing_one_mock_leave_it_in_any_order() -> None:
    clouds: dict[str, FakeSunmiCloud] = {}

    async def task(name: str, hold: float) -> None:
        with SHARED as cloud:
            await asyncio.sleep(hold)  # the first to enter leaves first
            await _create(name)
            assert mocked_cloud() is cloud
        clouds[name] = cloud

    await asyncio.gather(task("first", 0.0), task("second", 0.05))
    assert _names(clouds["first"]) == ["first"]
    assert _names(clouds["second"]) == ["second"]
    assert AsyncSunmiFace.transport_override.get() is None
    with pytest.raises(LookupError):
        mocked_cloud()


def test_threads_sharing_one_mock_each_get_their_own_fake_and_leave_nothing() -> None:
    errors: list[BaseException] = []
    after: list[object] = []
    barrier = threading.Barrier(4, timeout=10)

    def worker(index: int) -> None:
        try:
            with SHARED as cloud:
                barrier.wait()  # all four inside at once
                asyncio.run(_create(f"t{index}"))
                assert _names(cloud) == [f"t{index}"]
                barrier.wait()
            after.append(AsyncSunmiFace.transport_override.get())
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert [t for t in threads if t.is_alive()] == []
    assert errors == []
    assert after == [None] * 4


def test_stopping_in_another_context_than_the_start_says_so() -> None:
    mock = mock_sunmi()
    mock.start()
    try:
        with pytest.raises(RuntimeError, match="not started in this context"):
            contextvars.Context().run(mock.stop)
    finally:
        mock.stop()
    assert AsyncSunmiFace.transport_override.get() is None


def test_a_decorated_generator_runs_its_whole_body_inside_the_mock() -> None:
    """``@pytest.fixture`` over ``@mock_sunmi()`` on a generator: the body, not only the call
    that creates the generator, runs inside (else the fixture's clients use the network)."""
    decorator = mock_sunmi()

    @decorator
    def fixture_like() -> Iterator[tuple[FakeSunmiCloud, bool]]:
        yield mocked_cloud(), AsyncSunmiFace.transport_override.get() is not None
        assert AsyncSunmiFace.transport_override.get() is not None  # still inside at teardown

    steps = fixture_like()
    cloud, intercepted = next(steps)
    assert intercepted
    assert decorator.cloud is cloud
    with pytest.raises(StopIteration):
        next(steps)
    assert AsyncSunmiFace.transport_override.get() is None


async def test_a_decorated_async_generator_runs_its_whole_body_inside_the_mock() -> None:
    @mock_sunmi()
    async def fixture_like() -> AsyncIterator[str]:
        await _create("from the fixture")
        yield _names(mocked_cloud())[0]

    steps = fixture_like()
    assert await steps.__anext__() == "from the fixture"
    with pytest.raises(StopAsyncIteration):
        await steps.__anext__()
    assert AsyncSunmiFace.transport_override.get() is None
