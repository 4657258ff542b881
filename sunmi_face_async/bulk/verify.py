"""Confirm a job after the fact: are the faces its journal marks DONE in their groups?

``verify(client, journal)`` lists each group holding DONE items once (nothing is uploaded,
nothing in the journal is changed) and reports, per DONE item, whether its face is there:
counts, and the missing items by manifest line and file. A face the platform accepted and
then refused, or one deleted since, shows up as missing.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from ._client import BulkClient
from ._confirm import list_group
from ._naming import label
from .journal import Journal, Status

__all__ = ["VerifyReport", "verify"]


@attrs.define
class VerifyReport:
    """What ``verify`` found. ``missing`` names each DONE item whose face is not in its
    group; ``unlisted`` maps a group that could not be listed, or whose listing was short of
    the server's own count, to the error (its items not listed are counted in ``unchecked``,
    neither present nor missing)."""

    journal: str
    groups: list[str] = attrs.field(factory=list)
    done: int = 0
    present: int = 0
    missing: list[dict[str, Any]] = attrs.field(factory=list)
    unchecked: int = 0
    unlisted: dict[str, str] = attrs.field(factory=dict)
    #: Items the journal already holds as rejected (not checked again).
    rejected: int = 0

    @property
    def ok(self) -> bool:
        """Every DONE item was checked and is there."""
        return not self.missing and not self.unchecked

    def as_dict(self) -> dict[str, Any]:
        return {
            "journal": self.journal,
            "groups": list(self.groups),
            "counts": {
                "done": self.done,
                "present": self.present,
                "missing": len(self.missing),
                "unchecked": self.unchecked,
                "rejected": self.rejected,
            },
            "missing": list(self.missing),
            "unlisted": dict(self.unlisted),
            "ok": self.ok,
        }


async def verify(client: BulkClient, journal: str | os.PathLike[str] | Journal) -> VerifyReport:
    """List the job's groups once each and check every DONE item of ``journal``.

    ``journal`` is a path (opened with ``resume=True``: a missing, empty or damaged file, or
    one a running job holds, raises ``JournalError``) or an open ``Journal``.
    """
    opened = journal if isinstance(journal, Journal) else Journal(journal, resume=True)
    owned = opened is not journal
    try:
        opened.open()
        return await _verify(client, opened)
    finally:
        if owned:
            opened.close()


async def _verify(client: BulkClient, journal: Journal) -> VerifyReport:
    report = VerifyReport(journal.path)
    counts = journal.counts()
    report.done, report.rejected = counts[Status.DONE], counts[Status.REJECTED]
    stores: dict[str, set[str]] = {}
    for row in journal.rows(Status.DONE):
        stores.setdefault(row.group_id, set()).add(_store_in(row.key))
    groups = sorted(stores)
    report.groups = groups
    listed: dict[str, set[str]] = {}
    short: set[str] = set()
    for group_id in groups:
        try:
            listed[group_id], shortfall = await _list(client, group_id, stores[group_id])
        except Exception as exc:
            report.unlisted[group_id] = f"could not list group {group_id}: {exc}"
        else:
            if shortfall:
                # What a listing short of its own count left out is not known to be missing.
                short.add(group_id)
                report.unlisted[group_id] = (
                    f"the listing of group {group_id} was incomplete: {shortfall}"
                )
    for row in journal.rows(Status.DONE):
        faces = listed.get(row.group_id)
        if faces is not None and row.face_id in faces:
            report.present += 1
        elif faces is None or row.group_id in short:
            report.unchecked += 1
        else:
            named = {
                "line": row.line,
                "file": row.picture,
                "name": row.name,
                "external_key": row.external_key,
            }
            report.missing.append(
                {**named, "face_id": row.face_id, "group_id": row.group_id, "label": label(named)}
            )
    return report


def _store_in(key: str) -> str:
    """The store a journal key names (``S1/key``, see ``item_key``), or "" for none."""
    shop, slash, _ = key.partition("/")
    return shop if slash else ""


async def _list(client: BulkClient, group_id: str, stores: set[str]) -> tuple[set[str], str]:
    """``list_group`` through the store the group's items name (a chain job's group lives
    in its own store), else through ``client``'s own store.

    An external key may hold a "/" too: when the store it seems to name cannot list the
    group, the client's own store is asked.
    """
    with_shop = getattr(client, "with_shop", None)
    shop = next(iter(stores)) if len(stores) == 1 else ""
    if shop and with_shop is not None:
        try:
            return await list_group(with_shop(sunmi_shop_no=shop), group_id)
        except Exception:  # noqa: S110 - the client's own store is asked next
            pass
    return await list_group(client, group_id)
