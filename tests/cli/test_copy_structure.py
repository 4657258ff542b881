"""sunmi-face copy-structure: --plan changes nothing, a run copies, a second run does nothing."""

from __future__ import annotations

import json

from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import Invoke

WRITES = ("/face/group/create", "/face/group/update", "/face/group/updateMoveStrategy")


def _writes(cloud: FakeSunmiCloud) -> int:
    return sum(cloud.stats.requests_by_endpoint[path] for path in WRITES)


def _seed(invoke: Invoke) -> None:
    made = invoke(["groups", "create", "VIP", "--capacity", "700", "--key", "ext"])
    assert made.exit_code == 0, made.output


def test_plan_then_copy_then_nothing(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    _seed(invoke)
    cloud.reset_stats()
    plan = invoke(["copy-structure", "--to-shop", "S2", "--plan", "--json"])
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    assert (data["to_shop"], data["create"], data["matched"], data["applied"]) == (
        "S2",
        1,
        3,
        False,
    )
    created = next(i for i in data["items"] if i["action"] == "create")
    assert (created["name"], created["type"]) == ("VIP", 5)
    assert _writes(cloud) == 0
    assert [g.name for g in cloud.groups_of("S2") if not g.is_default] == []

    done = invoke(["copy-structure", "--to-shop", "S2"])
    assert done.exit_code == 0, done.output
    assert "create: VIP" in done.stdout
    assert "done (1 writes) for S2: 1 create, 3 matched" in done.stdout
    vip = next(g for g in cloud.groups_of("S2") if g.name == "VIP")
    assert (vip.capacity, vip.customer_keys) == (700, ("ext",))

    cloud.reset_stats()
    again = invoke(["copy-structure", "--to-shop", "S2", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["writes"] == 0
    assert _writes(cloud) == 0


def test_strategy_options_are_checked_and_applied(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    _seed(invoke)
    half = invoke(["copy-structure", "--to-shop", "S2", "--threshold", "3"])
    assert half.exit_code == 2
    assert "--threshold need --strategy-group" in half.output
    full = invoke(
        [
            "copy-structure",
            "--to-shop",
            "S2",
            "--strategy-group",
            "VIP",
            "--threshold",
            "3",
            "--period",
            "7d",
        ]
    )
    assert full.exit_code == 0, full.output
    strategy = cloud.move_strategy("S2")
    vip = next(g for g in cloud.groups_of("S2") if g.name == "VIP")
    assert strategy is not None
    assert (strategy.target_group_id, strategy.threshold, strategy.period) == (
        vip.group_id,
        3,
        604800,
    )
    unknown = invoke(
        [
            "copy-structure",
            "--to-shop",
            "S3",
            "--strategy-group",
            "Gold",
            "--threshold",
            "3",
            "--period",
            "1d",
        ]
    )
    assert unknown.exit_code == 2
    assert "the source store has no group named 'Gold'" in unknown.output


def test_the_configured_store_itself_is_refused(invoke: Invoke, cloud: FakeSunmiCloud) -> None:
    same = invoke(["copy-structure", "--to-shop", cloud.shop_no])
    assert same.exit_code == 2
    assert "is the configured store itself" in same.output
