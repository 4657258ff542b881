"""copy_structure: the target store's custom groups made to match the source's, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sunmi_face_async.bulk import PromotionStrategy, copy_structure
from sunmi_face_async.models import GroupType
from sunmi_face_async.testing import FakeSunmiCloud

WRITES = ("/face/group/create", "/face/group/update", "/face/group/updateMoveStrategy")


def _writes(cloud: FakeSunmiCloud) -> int:
    return sum(cloud.stats.requests_by_endpoint[path] for path in WRITES)


def _custom(cloud: FakeSunmiCloud, shop: str) -> dict[str, tuple[object, ...]]:
    return {
        g.name: (g.type, g.capacity, g.description, tuple(g.customer_keys[:5]))
        for g in cloud.groups_of(shop)
        if not g.is_default
    }


async def _source(cloud: FakeSunmiCloud) -> None:
    async with cloud.client(sunmi_shop_no="S1") as client:
        await client.groups.create("VIP", capacity=500, description="gold", customer_keys=["ext"])
        await client.groups.create(
            "Banned", type=GroupType.BLACKLIST, capacity=50, customer_keys=["", "why"]
        )


async def test_copy_creates_then_a_second_run_plans_nothing_and_sends_no_write() -> None:
    cloud = FakeSunmiCloud(seed=1)
    await _source(cloud)
    async with cloud.client(sunmi_shop_no="S1") as client:
        target = client.with_shop(sunmi_shop_no="S2")
        first = await copy_structure(client, target)
        assert first.counts["create"] == 2
        assert first.counts["matched"] == 3  # stranger, regular, employee found by type
        assert first.writes == 2
        assert _custom(cloud, "S2") == {
            "VIP": (GroupType.CUSTOM, 500, "gold", ("ext",)),
            "Banned": (GroupType.BLACKLIST, 50, "", ("", "why")),
        }
        cloud.reset_stats()
        second = await copy_structure(client, target)
    assert second.changes == 0
    assert second.counts["unchanged"] == 2
    assert _writes(cloud) == 0
    assert cloud.stats.requests_by_endpoint["/face/group/getList"] == 2


async def test_a_differing_group_is_updated_field_by_field() -> None:
    cloud = FakeSunmiCloud(seed=2)
    await _source(cloud)
    async with cloud.client(sunmi_shop_no="S2") as target:
        await target.groups.create("VIP", capacity=100, customer_keys=["old", "x"])
        await target.groups.create("Only here")
    async with cloud.client(sunmi_shop_no="S1") as client:
        target = client.with_shop(sunmi_shop_no="S2")
        cloud.reset_stats()
        plan = await copy_structure(client, target, plan_only=True)
        assert _writes(cloud) == 0
        vip = next(i for i in plan.items if i.name == "VIP")
        assert vip.action == "update"
        assert vip.changes == {
            "capacity": [100, 500],
            "description": ["", "gold"],
            "customer_keys": [["old", "x", "", "", ""], ["ext", "", "", "", ""]],
        }
        assert [i.name for i in plan.items if i.action == "extra"] == ["Only here"]
        done = await copy_structure(client, target)
        assert done.writes == 2  # one update, one create
    assert _custom(cloud, "S2")["VIP"] == (GroupType.CUSTOM, 500, "gold", ("ext",))
    assert "Only here" in _custom(cloud, "S2")  # extra groups are left alone


async def test_the_strategy_targets_the_counterpart_in_the_target_store() -> None:
    cloud = FakeSunmiCloud(seed=3)
    await _source(cloud)
    async with cloud.client(sunmi_shop_no="S1") as client:
        target = client.with_shop(sunmi_shop_no="S2")
        strategy = PromotionStrategy("VIP", 4, timedelta(days=7))
        await copy_structure(client, target, strategy=strategy)
        vip = next(g for g in cloud.groups_of("S2") if g.name == "VIP")
        set_to = cloud.move_strategy("S2")
        assert set_to is not None
        assert (set_to.target_group_id, set_to.threshold, set_to.period) == (
            vip.group_id,
            4,
            604800,
        )
        regular = next(g for g in cloud.groups_of("S2") if g.type == GroupType.REGULAR)
        await copy_structure(client, target, strategy=PromotionStrategy("regular", 2, 3600))
        set_to = cloud.move_strategy("S2")
        assert set_to is not None
        assert set_to.target_group_id == regular.group_id


async def test_bad_strategy_and_type_clash_are_refused_before_any_write() -> None:
    cloud = FakeSunmiCloud(seed=4)
    await _source(cloud)
    async with cloud.client(sunmi_shop_no="S2") as target:
        await target.groups.create("Banned")  # custom here, blacklist in the source
    async with cloud.client(sunmi_shop_no="S1") as client:
        target = client.with_shop(sunmi_shop_no="S2")
        cloud.reset_stats()
        with pytest.raises(ValueError, match="no group named 'Nope'"):
            await copy_structure(client, target, strategy=PromotionStrategy("Nope", 1, 60))
        with pytest.raises(ValueError, match="'Banned' is of type 5 in the target but 4"):
            await copy_structure(client, target)
    assert _writes(cloud) == 0


async def test_a_capacity_below_what_the_target_group_holds_is_refused_before_any_write() -> None:
    from sunmi_face_async.testing.pictures import tiny_png

    cloud = FakeSunmiCloud(seed=5)
    await _source(cloud)  # VIP: capacity 500 in the source
    async with cloud.client(sunmi_shop_no="S2") as target:
        await target.groups.create("Banned", type=GroupType.BLACKLIST, capacity=60)
        vip = await target.groups.create("VIP", capacity=600)
        for i in range(3):
            await target.faces.add(vip.group_id, pic=tiny_png(i))
    async with cloud.client(sunmi_shop_no="S1") as client:
        await client.groups.update(
            next(g.group_id for g in await client.groups.list() if g.name == "VIP"), capacity=2
        )
        target = client.with_shop(sunmi_shop_no="S2")
        cloud.reset_stats()
        message = "group 'VIP' holds 3 faces in the target, more than the capacity 2"
        with pytest.raises(ValueError, match=message):
            await copy_structure(client, target, plan_only=True)
        with pytest.raises(ValueError, match=message):
            await copy_structure(client, target)
    assert _writes(cloud) == 0  # Banned's capacity was not changed either
    assert _custom(cloud, "S2")["Banned"][1] == 60
