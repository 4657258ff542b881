"""``copy_structure(source, target)``: make a store's groups and promotion strategy match another's.

Custom groups are matched by name (names are unique within a store) and created or updated in
the target with the source's type, capacity, description and custom keys; default groups
(stranger, regular, employee) cannot be changed, so they are only matched by type, which lets
the strategy name its target group in either store. Groups the target holds and the source
does not are left alone and listed as ``extra``.

The API has no call that reads a store's stranger-promotion strategy back, so it cannot be
copied from the source: pass it as ``strategy`` (its target group named as in the source).
It is then set in the target on every run that is not a plan (the call is idempotent); all
else is compared first, so a second run plans nothing and sends no write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ..models import CUSTOM_SLOTS, FaceGroup, GroupType

if TYPE_CHECKING:
    from .. import AsyncSunmiFace

__all__ = ["PromotionStrategy", "StructureItem", "StructurePlan", "copy_structure"]

#: The actions a plan item can carry, in the order the counts list them.
ACTIONS = ("create", "update", "unchanged", "matched", "missing", "extra", "strategy")


@attrs.frozen
class PromotionStrategy:
    """Promote a stranger seen ``threshold`` times within ``period`` into ``group``.

    ``group`` is the name of a group of the source store (a default group's name matches
    the target's default group of the same type).
    """

    group: str
    threshold: int
    period: int | timedelta

    @property
    def seconds(self) -> int:
        period = self.period
        return int(period.total_seconds()) if isinstance(period, timedelta) else int(period)


@attrs.frozen
class StructureItem:
    """One group (or the strategy) and what copying does to it.

    ``action``: ``create``, ``update`` (``changes`` names each field as ``[target, source]``),
    ``unchanged``, ``matched`` (a default group found by type), ``missing`` (the target has
    no default group of that type), ``extra`` (only in the target; left alone) or
    ``strategy`` (set in the target).
    """

    action: str
    name: str
    type: int | None
    source_group_id: str | None = None
    target_group_id: str | None = None
    changes: dict[str, list[Any]] = attrs.field(factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.define
class StructurePlan:
    """What ``copy_structure`` planned and (unless ``plan_only``) did."""

    items: list[StructureItem] = attrs.field(factory=list)
    applied: bool = False
    #: Write requests sent to the target (0 for a plan).
    writes: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for item in self.items:
            counts[item.action] += 1
        return counts

    @property
    def changes(self) -> int:
        """Items that need a write: creates, updates and the strategy."""
        counts = self.counts
        return counts["create"] + counts["update"] + counts["strategy"]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "applied": self.applied,
            "writes": self.writes,
            "items": [item.as_dict() for item in self.items],
        }


def _keys(group: FaceGroup) -> list[str]:
    """The group's five custom key slots, unset ones empty."""
    keys = list(group.customer_keys[:CUSTOM_SLOTS])
    return keys + [""] * (CUSTOM_SLOTS - len(keys))


def _differences(source: FaceGroup, target: FaceGroup) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    if source.capacity is not None and source.capacity != target.capacity:
        changes["capacity"] = [target.capacity, source.capacity]
    if (source.description or "") != (target.description or ""):
        changes["description"] = [target.description, source.description]
    if _keys(source) != _keys(target):
        changes["customer_keys"] = [_keys(target), _keys(source)]
    return changes


def _type(group: FaceGroup) -> int | None:
    return None if group.type is None else int(group.type)


def plan_structure(
    source: Sequence[FaceGroup], target: Sequence[FaceGroup], strategy: PromotionStrategy | None
) -> StructurePlan:
    """The plan that makes ``target``'s groups match ``source``'s (pure: sends nothing)."""
    plan = StructurePlan()
    by_name = {g.name: g for g in target if not g.is_default}
    by_type = {g.type: g for g in target if g.is_default}
    seen: set[str] = set()
    for group in source:
        if group.is_default:
            match = by_type.get(group.type)
            action = "missing" if match is None else "matched"
            target_id = None if match is None else match.group_id
            plan.items.append(
                StructureItem(action, group.name, _type(group), group.group_id, target_id)
            )
            continue
        seen.add(group.name)
        existing = by_name.get(group.name)
        if existing is None:
            plan.items.append(StructureItem("create", group.name, _type(group), group.group_id))
            continue
        changes = _differences(group, existing)
        if existing.type != group.type:
            # The API cannot change a group's type: say so instead of hiding it.
            changes["type"] = [_type(existing), _type(group)]
        action = "update" if changes else "unchanged"
        plan.items.append(
            StructureItem(
                action, group.name, _type(group), group.group_id, existing.group_id, changes
            )
        )
    for name, group in by_name.items():
        if name not in seen:
            plan.items.append(StructureItem("extra", name, _type(group), None, group.group_id))
    if strategy is not None:
        plan.items.append(_strategy_item(source, strategy))
    return plan


def _strategy_item(source: Sequence[FaceGroup], strategy: PromotionStrategy) -> StructureItem:
    found = [g for g in source if g.name == strategy.group]
    if len(found) != 1:
        known = ", ".join(repr(g.name) for g in source) or "none"
        raise ValueError(
            f"strategy: the source store has no group named {strategy.group!r} (known: {known})"
        )
    if found[0].type == GroupType.STRANGER:
        raise ValueError("strategy: strangers cannot be promoted into the stranger group")
    if strategy.threshold < 1 or strategy.seconds < 1:
        raise ValueError("strategy: threshold and period must be positive")
    changes = {"threshold": [None, strategy.threshold], "period": [None, strategy.seconds]}
    return StructureItem(
        "strategy", strategy.group, _type(found[0]), found[0].group_id, None, changes
    )


async def copy_structure(
    source_client: AsyncSunmiFace,
    target_client: AsyncSunmiFace,
    *,
    plan_only: bool = False,
    strategy: PromotionStrategy | None = None,
) -> StructurePlan:
    """Create or update the target store's custom groups to match the source's.

    Lists both stores' groups once, plans (see ``StructurePlan``), and unless ``plan_only``
    sends one ``groups.create`` per missing group and one ``groups.update`` per group that
    differs (only the fields that differ), then sets ``strategy`` if given. A group whose
    type differs in the target, or whose source capacity is below the faces the target's
    group holds, is an update the API cannot make: it raises ``ValueError`` naming the
    group before anything is sent (a plan too). Errors of the API propagate (what was done
    before stays done; running it again goes on from there).
    """
    source = await source_client.groups.list()
    target = await target_client.groups.list()
    plan = plan_structure(source, target, strategy)
    _refuse_impossible(plan, target)
    if plan_only:
        return plan
    plan.applied = True
    by_name = {g.name: g for g in source}
    for index, item in enumerate(plan.items):
        if item.action == "create":
            group = by_name[item.name]
            created = await target_client.groups.create(
                group.name,
                type=group.type if group.type is not None else GroupType.CUSTOM,
                capacity=group.capacity,
                description=group.description or None,
                customer_keys=_keys(group) if any(_keys(group)) else None,
            )
            plan.writes += 1
            plan.items[index] = attrs.evolve(item, target_group_id=created.group_id)
        elif item.action == "update":
            assert item.target_group_id is not None
            await target_client.groups.update(
                item.target_group_id,
                capacity=_new(item, "capacity"),
                description=_new(item, "description"),
                customer_keys=_new(item, "customer_keys"),
            )
            plan.writes += 1
    if strategy is not None:
        await _set_strategy(plan, strategy, target_client)
    return plan


def _refuse_impossible(plan: StructurePlan, target: Sequence[FaceGroup]) -> None:
    """``ValueError`` for an update the API would refuse, before anything is sent (else the
    groups after it in the plan would be left undone): a type change, or a capacity below
    the faces the target group already holds."""
    counts = {g.group_id: g.count for g in target}
    for item in plan.items:
        if "type" in item.changes:
            was, wanted = item.changes["type"]
            raise ValueError(
                f"group {item.name!r} is of type {was} in the target but {wanted} in the "
                "source, and the API cannot change a group's type: rename or delete one"
            )
        held = counts.get(item.target_group_id or "")
        capacity = _new(item, "capacity")
        if capacity is not None and held is not None and held > capacity:
            raise ValueError(
                f"group {item.name!r} holds {held} faces in the target, more than the "
                f"capacity {capacity} it has in the source: remove faces from the target's "
                "group or raise the source's capacity, then copy again"
            )


def _new(item: StructureItem, field: str) -> Any:
    change = item.changes.get(field)
    return None if change is None else change[1]


async def _set_strategy(
    plan: StructurePlan, strategy: PromotionStrategy, target_client: AsyncSunmiFace
) -> None:
    index, item = next((i, it) for i, it in enumerate(plan.items) if it.action == "strategy")
    mapped = ("create", "update", "unchanged", "matched")
    counterpart = next(
        (it for it in plan.items if it.name == item.name and it.action in mapped), None
    )
    if counterpart is None or counterpart.target_group_id is None:
        raise ValueError(f"strategy: the target store has no counterpart of {item.name!r}")
    await target_client.groups.update_move_strategy(
        target_group_id=counterpart.target_group_id,
        threshold=strategy.threshold,
        period=strategy.seconds,
    )
    plan.writes += 1
    plan.items[index] = attrs.evolve(item, target_group_id=counterpart.target_group_id)
