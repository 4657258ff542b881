"""The client's contract, run against the fake in-process and over loopback uvicorn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunmi_face_async import AgeRange, AsyncSunmiFace, Gender, GroupType
from sunmi_face_async.errors import (
    DataNotFoundError,
    DefaultGroupDeleteError,
    DefaultGroupUpdateError,
    FaceNotInGroupError,
    GroupExistsError,
    GroupNotEmptyError,
    GroupNotFoundError,
    LimitExceededError,
    RecordNotFoundError,
)

from .helpers import JPEG, PNG, Surface

UNKNOWN_ID = "999999999999"


async def test_a_new_store_has_the_three_default_groups(client: AsyncSunmiFace) -> None:
    groups = await client.groups.list()
    assert [(g.name, g.type) for g in groups] == [
        ("stranger", GroupType.STRANGER),
        ("regular", GroupType.REGULAR),
        ("employee", GroupType.EMPLOYEE),
    ]
    assert all(len(g.group_id) == 12 and g.group_id.isdigit() for g in groups)
    assert all(g.count == 0 and g.is_default for g in groups)
    again = await client.groups.list()
    assert [g.group_id for g in again] == [g.group_id for g in groups]


async def test_stores_are_separate(client: AsyncSunmiFace) -> None:
    await client.groups.create("VIP")
    other = client.with_shop(sunmi_shop_no="777000000001")
    assert [g.name for g in await other.groups.list()] == ["stranger", "regular", "employee"]
    assert "VIP" in [g.name for g in await client.groups.list()]


async def test_group_create_get_update_delete(client: AsyncSunmiFace) -> None:
    vip = await client.groups.create(
        "VIP", capacity=500, description="gold card", customer_keys=["level", "hobby"]
    )
    assert (vip.name, vip.type, vip.capacity, vip.count) == ("VIP", GroupType.CUSTOM, 500, 0)
    assert vip.description == "gold card"
    assert vip.customer_keys == ("level", "hobby")

    await client.groups.update(vip.group_id, name="VIP+", capacity=2000, customer_keys=["tier"])
    updated = await client.groups.get(vip.group_id)
    assert (updated.name, updated.capacity, updated.description) == ("VIP+", 2000, "gold card")
    assert updated.customer_keys == ("tier", "hobby")
    assert updated.last_modified_time is not None

    await client.groups.delete(vip.group_id)
    assert "VIP+" not in [g.name for g in await client.groups.list()]
    with pytest.raises(DataNotFoundError) as info:
        await client.groups.get(vip.group_id)
    assert info.value.code == 5013


async def test_group_names_are_unique(client: AsyncSunmiFace) -> None:
    first = await client.groups.create("VIP")
    with pytest.raises(GroupExistsError):
        await client.groups.create("VIP")
    second = await client.groups.create("Staff party")
    with pytest.raises(GroupExistsError):
        await client.groups.update(second.group_id, name="VIP")
    await client.groups.update(first.group_id, name="VIP")  # its own name is fine


async def test_default_groups_cannot_be_changed(client: AsyncSunmiFace) -> None:
    regular = next(g for g in await client.groups.list() if g.type == GroupType.REGULAR)
    with pytest.raises(DefaultGroupDeleteError) as deleting:
        await client.groups.delete(regular.group_id)
    assert deleting.value.code == 5524
    with pytest.raises(DefaultGroupUpdateError) as updating:
        await client.groups.update(regular.group_id, name="Regulars")
    assert updating.value.code == 5525


async def test_unknown_group_ids_get_the_documented_codes(client: AsyncSunmiFace) -> None:
    with pytest.raises(RecordNotFoundError):
        await client.groups.delete(UNKNOWN_ID)
    with pytest.raises(RecordNotFoundError):
        await client.groups.update(UNKNOWN_ID, name="x")
    with pytest.raises(RecordNotFoundError):
        await client.groups.list_faces(UNKNOWN_ID)
    with pytest.raises(DataNotFoundError):
        await client.faces.add(UNKNOWN_ID, pic=PNG)


async def test_a_group_that_holds_faces_cannot_be_deleted(client: AsyncSunmiFace) -> None:
    group = await client.groups.create("VIP")
    face_id = await client.faces.add(group.group_id, pic=PNG)
    with pytest.raises(GroupNotEmptyError):
        await client.groups.delete(group.group_id)
    await client.faces.delete(group.group_id, [face_id])
    await client.groups.delete(group.group_id)


async def test_the_store_holds_at_most_ten_groups(client: AsyncSunmiFace) -> None:
    for n in range(7):  # plus the three default groups
        await client.groups.create(f"G{n}")
    with pytest.raises(LimitExceededError) as info:
        await client.groups.create("one too many")
    assert info.value.code == 5520


async def test_a_full_group_refuses_faces(client: AsyncSunmiFace, surface: Surface) -> None:
    group = await client.groups.create("Small", capacity=2)
    await client.faces.add(group.group_id, pic=PNG)
    await client.faces.add(group.group_id, pic=JPEG)
    with pytest.raises(LimitExceededError):
        await client.faces.add(group.group_id, pic=PNG)
    assert len(await surface.faces_in(group.group_id)) == 2
    with pytest.raises(LimitExceededError):
        await client.groups.update(group.group_id, capacity=1)


async def test_face_add_get_keeps_every_field(client: AsyncSunmiFace) -> None:
    group = await client.groups.create("VIP", customer_keys=["level", "hobby"])
    face_id = await client.faces.add(
        group.group_id,
        pic=PNG,
        name="张三 Mike",
        gender=Gender.MALE,
        age_range=AgeRange.AGE_19_28,
        customer_values=["gold", "sing"],
    )
    face = await client.faces.get(face_id)
    assert (face.face_id, face.group_id, face.group_name) == (face_id, group.group_id, "VIP")
    assert (face.name, face.gender, face.age_range) == ("张三 Mike", 1, 4)
    assert face.customer_values == ()  # getInfo carries no custom values, as the vendor's
    (listed,) = [f async for f in client.groups.iter_faces(group.group_id)]
    assert listed.customer_values == ("gold", "sing")
    assert face.arrival_count == 0
    assert face.last_arrival_time is None
    assert face.create_time is not None
    assert (await client.groups.get(group.group_id)).count == 1


async def test_face_update_changes_only_what_is_given(client: AsyncSunmiFace) -> None:
    group = await client.groups.create("VIP")
    face_id = await client.faces.add(
        group.group_id, pic=PNG, name="Mike", gender=Gender.MALE, customer_values=["a", "b"]
    )
    await client.faces.update(group.group_id, face_id, name="Mike Li", customer_values=["c"])
    (face,) = [f async for f in client.groups.iter_faces(group.group_id)]
    assert (face.name, face.gender, face.customer_values) == ("Mike Li", 1, ("c", "b"))


async def test_face_errors(client: AsyncSunmiFace) -> None:
    group = await client.groups.create("VIP")
    other = await client.groups.create("Other")
    face_id = await client.faces.add(group.group_id, pic=PNG)
    with pytest.raises(RecordNotFoundError) as info:
        await client.faces.get(UNKNOWN_ID)
    assert info.value.code == 5506
    with pytest.raises(FaceNotInGroupError):
        await client.faces.update(other.group_id, face_id, name="x")
    with pytest.raises(DataNotFoundError):
        await client.faces.update(UNKNOWN_ID, face_id, name="x")


async def test_face_delete(client: AsyncSunmiFace, surface: Surface) -> None:
    group = await client.groups.create("VIP")
    ids = [await client.faces.add(group.group_id, pic=PNG) for _ in range(3)]
    await client.faces.delete(group.group_id, [ids[0], ids[2], UNKNOWN_ID])
    assert [f["face_id"] for f in await surface.faces_in(group.group_id)] == [ids[1]]
    with pytest.raises(RecordNotFoundError):
        await client.faces.get(ids[0])


async def test_face_pages_are_stable_and_counted(client: AsyncSunmiFace) -> None:
    group = await client.groups.create("VIP")
    ids = [await client.faces.add(group.group_id, pic=PNG, name=f"n{i}") for i in range(23)]
    pages = [
        await client.groups.list_faces(group.group_id, page_num=n, page_size=10)
        for n in (1, 2, 3, 4)
    ]
    assert [len(p.faces) for p in pages] == [10, 10, 3, 0]
    assert {p.total_num for p in pages} == {23}
    assert [f.face_id for p in pages for f in p.faces] == ids
    assert pages[0].faces[4].name == "n4"
    streamed = [f.face_id async for f in client.groups.iter_faces(group.group_id, page_size=7)]
    assert streamed == ids


async def test_move_faces(client: AsyncSunmiFace, surface: Surface) -> None:
    source = await client.groups.create("Source")
    target = await client.groups.create("Target", capacity=2)
    ids = [await client.faces.add(source.group_id, pic=PNG) for _ in range(3)]
    await client.groups.move_faces(source.group_id, target.group_id, ids[:2])
    assert [f["face_id"] for f in await surface.faces_in(target.group_id)] == ids[:2]
    assert [f["face_id"] for f in await surface.faces_in(source.group_id)] == ids[2:]
    moved = await client.faces.get(ids[0])
    assert (moved.group_id, moved.group_name) == (target.group_id, "Target")

    with pytest.raises(LimitExceededError):
        await client.groups.move_faces(source.group_id, target.group_id, ids[2:])
    with pytest.raises(FaceNotInGroupError):
        await client.groups.move_faces(source.group_id, target.group_id, ids[:1])
    with pytest.raises(GroupNotFoundError):
        await client.groups.move_faces(source.group_id, UNKNOWN_ID, ids[2:])
    assert [f["face_id"] for f in await surface.faces_in(source.group_id)] == ids[2:]


async def test_move_strategy_promotes_a_frequent_stranger(
    client: AsyncSunmiFace, surface: Surface
) -> None:
    groups = {g.type: g for g in await client.groups.list()}
    stranger, regular = groups[GroupType.STRANGER], groups[GroupType.REGULAR]
    await client.groups.update_move_strategy(
        target_group_id=regular.group_id, threshold=3, period=timedelta(days=7)
    )
    face_id = await client.faces.add(stranger.group_id, pic=PNG)
    day = 86_400
    await surface.simulate_arrival(face_id, at=1_700_000_000)
    await surface.simulate_arrival(face_id, at=1_700_000_000 + 8 * day)  # first one expired
    await surface.simulate_arrival(face_id, at=1_700_000_000 + 9 * day)
    face = await client.faces.get(face_id)
    assert (face.group_id, face.arrival_count) == (stranger.group_id, 3)
    await surface.simulate_arrival(face_id, at=1_700_000_000 + 10 * day)
    face = await client.faces.get(face_id)
    assert (face.group_id, face.arrival_count) == (regular.group_id, 4)
    assert face.last_arrival_time is not None
    assert int(face.last_arrival_time.timestamp()) == 1_700_000_000 + 10 * day


async def test_move_strategy_needs_an_existing_target(client: AsyncSunmiFace) -> None:
    with pytest.raises(RecordNotFoundError):
        await client.groups.update_move_strategy(
            target_group_id=UNKNOWN_ID, threshold=2, period=3600
        )


async def test_the_move_strategy_is_stored(client: AsyncSunmiFace, surface: Surface) -> None:
    assert (await surface.shop_settings())["move_strategy"] is None
    regular = next(g for g in await client.groups.list() if g.type == GroupType.REGULAR)
    await client.groups.update_move_strategy(
        target_group_id=regular.group_id, threshold=4, period=timedelta(days=7)
    )
    assert (await surface.shop_settings())["move_strategy"] == {
        "target_group_id": regular.group_id,
        "threshold": 4,
        "period": 604_800,
    }


async def test_hooks_are_added_and_deleted(client: AsyncSunmiFace, surface: Surface) -> None:
    await client.hooks.add("http://receiver.test/a", [9001, 17])
    await client.hooks.add("http://receiver.test/b", [9001])
    await client.hooks.delete([9001], "http://receiver.test/a")
    assert (await surface.shop_settings())["hooks"] == {
        "http://receiver.test/a": [17],
        "http://receiver.test/b": [9001],
    }
    await client.hooks.delete([9001, 17])
    assert (await surface.shop_settings())["hooks"] == {}
