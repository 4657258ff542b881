"""What ``sync`` plans and reports: one ``SyncItem`` per action, and the ``SyncReport``.

A plan item holds keys, ids, a few small attributes and the manifest line: never a picture
(the picture is read when the item is sent). The report counts the plan's actions, lists
the items that change something (unchanged items are only counted), and after applying
gives each listed item its one ``Outcome``.
"""

from __future__ import annotations

import enum
from collections import Counter
from typing import Any

import attrs

from ._results import Outcome
from .manifest import FaceUpload

__all__ = ["SyncAction", "SyncItem", "SyncReport"]


class SyncAction(str, enum.Enum):
    """What sync does for one key (or one face)."""

    #: The key is on no face of the store: the face is uploaded.
    ADD = "add"
    #: The face is in place but its name, gender, age range or custom values differ.
    UPDATE = "update"
    #: The face sits in another group of the store: moved (and updated if need be).
    MOVE = "move"
    #: With ``prune``: a face of a target group whose key the manifest does not hold.
    DELETE = "delete"
    #: The picture changed since sync uploaded it: the new face is added, then the old
    #: one deleted (so the person is never missing).
    REPLACE = "replace"
    #: Nothing to do (counted, not listed).
    UNCHANGED = "unchanged"
    #: Another face carries the same key; with ``prune`` it is deleted.
    DUPLICATE = "duplicate"
    #: A manifest row sync cannot use (bad row, no external key, key repeated).
    INVALID = "invalid"
    #: A row of a store that could not be listed: nothing planned, the row ends FAILED.
    UNPLANNED = "unplanned"


#: The keys of ``SyncReport.counts`` (and of the plan's JSON), in their printed order.
COUNTED = ("add", "update", "move", "delete", "replace", "unchanged", "duplicates")


@attrs.frozen
class SyncItem:
    """One planned action. ``group`` is the group the face ends in (for a delete or a
    duplicate: the group it is removed from); ``face_id`` the face acted on (None for an
    add); ``source_group`` the group a move or replace takes the face from; ``changes``
    the fields that differ (``picture`` for a replace). After applying, ``outcome``,
    ``new_face_id`` and ``error`` say how it ended. ``sunmi_shop_no``: the item's store,
    in a sync whose manifest names another store than the client's (else None)."""

    action: SyncAction
    key: str
    group: str | None
    line: int | None = None
    face_id: str | None = None
    source_group: str | None = None
    changes: tuple[str, ...] = ()
    upload: FaceUpload | None = attrs.field(default=None, repr=False, eq=False)
    outcome: Outcome | None = None
    new_face_id: str | None = None
    error: str | None = None
    sunmi_shop_no: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: action, key, group and manifest line, then what else is known."""
        out: dict[str, Any] = {
            "action": self.action.value,
            "key": self.key,
            "group": self.group,
            "line": self.line,
        }
        if self.sunmi_shop_no is not None:
            out["sunmi_shop_no"] = self.sunmi_shop_no
        if self.face_id is not None:
            out["face_id"] = self.face_id
        if self.source_group is not None and self.source_group != self.group:
            out["from_group"] = self.source_group
        if self.changes:
            out["changes"] = list(self.changes)
        if self.outcome is not None:
            out["outcome"] = self.outcome.value
        if self.new_face_id is not None:
            out["new_face_id"] = self.new_face_id
        if self.error is not None:
            out["error"] = self.error
        return out


@attrs.define
class SyncReport:
    """The plan (``plan_only``) or the applied sync: counts by action, the listed items,
    outcomes, and the write requests sent by kind."""

    plan_only: bool = False
    counts: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(COUNTED, 0))
    invalid: int = 0
    #: Rows of a store that could not be listed (each ends FAILED with the cause).
    unplanned: int = 0
    items: list[SyncItem] = attrs.field(factory=list)
    #: Items not ours (``shard``): neither counted nor listed.
    other_shards: int = 0
    outcomes: Counter[str] = attrs.field(factory=Counter)
    #: Write requests sent, by kind (add, update, move, delete).
    writes: Counter[str] = attrs.field(factory=Counter)
    #: Listing requests (pages of getFaceList) sent to plan.
    pages: int = 0
    elapsed: float = 0.0
    cancelled: bool = False
    #: Per store (``sunmi_shop_no``; ``""``: the client's own): its counts, ``invalid``,
    #: ``unplanned``, ``outcomes``, ``writes`` and ``pages`` (as ``tally`` gives them).
    by_store: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def count(self, action: SyncAction) -> None:
        if action is SyncAction.INVALID:
            self.invalid += 1
        elif action is SyncAction.UNPLANNED:
            self.unplanned += 1
        elif action is SyncAction.DUPLICATE:
            self.counts["duplicates"] += 1
        else:
            self.counts[action.value] += 1

    def tally(self) -> dict[str, Any]:
        """This report's counts, outcomes and requests (one store's entry of ``by_store``)."""
        return {
            **{k: self.counts[k] for k in COUNTED},
            "invalid": self.invalid,
            "unplanned": self.unplanned,
            "outcomes": dict(self.outcomes),
            "writes": dict(self.writes),
            "pages": self.pages,
        }

    def absorb(self, shop: str, part: SyncReport) -> None:
        """Add the report of store ``shop`` (its items were listed here as they ended)."""
        for k in COUNTED:
            self.counts[k] += part.counts[k]
        self.invalid += part.invalid
        self.unplanned += part.unplanned
        self.other_shards += part.other_shards
        self.outcomes.update(part.outcomes)
        self.writes.update(part.writes)
        self.pages += part.pages
        self.by_store[shop] = part.tally()

    @property
    def changes(self) -> int:
        """How many actions change the server (duplicates count only with ``prune``)."""
        return sum(v for k, v in self.counts.items() if k not in ("unchanged", "duplicates"))

    @property
    def ok(self) -> bool:
        """Applied (or planned) with no failed, unknown or invalid item."""
        bad = self.outcomes["failed"] + self.outcomes["unknown"]
        return not self.cancelled and bad == 0 and self.invalid == 0 and self.unplanned == 0

    def plan_dict(self) -> dict[str, Any]:
        """``{"add": n, "update": n, "move": n, "delete": n, "replace": n, "unchanged": n,
        "duplicates": n, "items": [...]}``: exactly these keys."""
        return {**{k: self.counts[k] for k in COUNTED}, "items": [i.as_dict() for i in self.items]}

    def as_dict(self) -> dict[str, Any]:
        """The plan's keys, then ``invalid``, ``outcomes``, ``writes``, ``pages`` and time."""
        return {
            **self.plan_dict(),
            "invalid": self.invalid,
            "plan_only": self.plan_only,
            "outcomes": dict(self.outcomes),
            "writes": dict(self.writes),
            "pages": self.pages,
            "elapsed_s": round(self.elapsed, 3),
            "cancelled": self.cancelled,
            "unplanned": self.unplanned,
            "by_store": {shop: dict(tally) for shop, tally in self.by_store.items()},
        }
