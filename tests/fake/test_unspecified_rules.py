"""Rules the vendor document leaves open, as the fake settles them (in-process)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import anyio
import pytest

from sunmi_face_async import AsyncSunmiFace, GroupType
from sunmi_face_async.errors import (
    DefaultGroupUpdateError,
    GroupExistsError,
    LimitExceededError,
    ParameterError,
)
from sunmi_face_async.testing import FakeSunmiCloud, Faults

from .helpers import PNG


@pytest.fixture
def cloud() -> FakeSunmiCloud:
    return FakeSunmiCloud(max_faces=3, default_capacity=1000, max_groups=5)


@pytest.fixture
async def client(cloud: FakeSunmiCloud) -> AsyncIterator[AsyncSunmiFace]:
    async with cloud.client() as client:
        yield client


async def test_the_store_face_limit_counts_every_group(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace
) -> None:
    a = await client.groups.create("A")
    b = await client.groups.create("B")
    assert (a.capacity, b.capacity) == (3, 3)  # the default capacity is capped by max_faces
    await client.faces.add(a.group_id, pic=PNG)
    await client.faces.add(b.group_id, pic=PNG)
    await client.faces.add(b.group_id, pic=PNG)
    with pytest.raises(LimitExceededError):
        await client.faces.add(a.group_id, pic=PNG)
    with pytest.raises(LimitExceededError):
        await client.groups.create("C", capacity=4)
    assert sum(g.count or 0 for g in cloud.groups_of()) == 3


async def test_group_count_limit_includes_the_default_groups(client: AsyncSunmiFace) -> None:
    await client.groups.create("A")
    await client.groups.create("B")
    with pytest.raises(LimitExceededError):
        await client.groups.create("C")


async def test_only_custom_and_blacklist_groups_can_be_created(client: AsyncSunmiFace) -> None:
    black = await client.groups.create("Banned", type=GroupType.BLACKLIST)
    assert black.type == GroupType.BLACKLIST
    with pytest.raises(GroupExistsError):
        await client.groups.create("Second regulars", type=GroupType.REGULAR)


async def test_strangers_cannot_be_moved_into_the_stranger_group(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace
) -> None:
    stranger = cloud.groups_of()[0]
    with pytest.raises(DefaultGroupUpdateError):
        await client.groups.update_move_strategy(
            target_group_id=stranger.group_id, threshold=2, period=60
        )


async def test_a_full_target_keeps_the_stranger(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace
) -> None:
    stranger = cloud.groups_of()[0]
    target = await client.groups.create("Target", capacity=1)
    await client.faces.add(target.group_id, pic=PNG)
    await client.groups.update_move_strategy(
        target_group_id=target.group_id, threshold=1, period=60
    )
    face_id = await client.faces.add(stranger.group_id, pic=PNG)
    assert cloud.simulate_arrival(face_id).group_id == stranger.group_id


async def test_page_size_is_checked(cloud: FakeSunmiCloud) -> None:
    from sunmi_face_async.testing import FakeAPIError

    group_id = cloud.groups_of()[0].group_id
    store = cloud.shop_state()
    with pytest.raises(FakeAPIError) as info:
        store.page(group_id, 1, 101)
    assert info.value.code == 5020
    with pytest.raises(FakeAPIError):
        store.page(group_id, 0, 10)


async def test_a_description_over_fifty_characters_is_refused(client: AsyncSunmiFace) -> None:
    with pytest.raises(ParameterError):
        await client.groups.create("A", description="d" * 51)


async def test_the_picture_is_kept_as_a_digest(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace
) -> None:
    stranger = cloud.groups_of()[0].group_id
    face_id = await client.faces.add(stranger, pic=PNG)
    assert cloud.picture_digest(face_id) == (hashlib.sha256(PNG).hexdigest(), len(PNG))


def test_the_in_process_fake_runs_under_trio() -> None:
    async def scenario() -> list[str]:
        cloud = FakeSunmiCloud(faults=Faults(latency=0.01))
        async with cloud.client() as client:
            group = await client.groups.create("VIP")
            await client.faces.add(group.group_id, pic=PNG)
            return [f.face_id for f in cloud.faces_in(group.group_id)]

    assert len(anyio.run(scenario, backend="trio")) == 1


async def test_a_legacy_shop_id_can_alias_a_store() -> None:
    cloud = FakeSunmiCloud()
    cloud.shop_aliases["7948"] = cloud.shop_no
    cloud.shop_state().create_group("VIP", 5, None, None, [None] * 5)
    async with cloud.client(sunmi_shop_no=None, shop_id="7948") as legacy:
        assert "VIP" in [g.name for g in await legacy.groups.list()]
