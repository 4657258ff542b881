"""Resolve items a journal left unknown, after the fact, by looking at their groups.

Each group holding unknown (or in-flight) items is listed once; per item the verdict says
what the listing shows and how much that proves:

- ``applied``: a face carries the item's external key (in the job's slot): proof.
- ``absent``: no face carries its external key, or (without a key) no face has its name and
  attributes; the upload is older than the settle time, so it did not land: sending it
  again makes one copy. (Without a key this assumes nobody edited or deleted that face.)
- ``likely``: without an external key, a face has the same name and attributes: it may be
  this upload, or another picture of the same person; this does not prove it.
- ``wait``: the upload is too recent: it may still land.
- ``unlisted``: the group could not be listed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import attrs

from ..models import Face
from ._client import BulkClient
from ._policy import default_settle
from .export import export_faces
from .journal import Journal, JournalRow, Status

__all__ = ["Verdict", "check_unknown", "resolve_verdicts"]


@attrs.frozen
class Verdict:
    """What the listing shows for one unknown item: ``state`` is one of the module's words."""

    row: JournalRow
    state: str
    face_ids: tuple[str, ...] = ()
    detail: str = ""


async def check_unknown(
    client: BulkClient, journal: Journal, *, settle: float | None = None
) -> list[Verdict]:
    """A verdict for every unknown or in-flight item of ``journal`` (see the module)."""
    recorded = journal.job()
    slot = recorded[0].get("external_key_slot") if recorded else None
    settle = default_settle(client) if settle is None else settle
    rows = [*journal.rows(Status.UNKNOWN), *journal.rows(Status.IN_FLIGHT)]
    by_group: dict[str, list[JournalRow]] = {}
    for row in rows:
        by_group.setdefault(row.group_id, []).append(row)
    verdicts: list[Verdict] = []
    now = time.time()
    for group_id, items in by_group.items():
        try:
            faces = [face async for face in export_faces(client, group_id)]
        except Exception as exc:
            why = f"could not list group {group_id}: {exc}"
            verdicts += [Verdict(row, "unlisted", detail=why) for row in items]
            continue
        for row in items:
            verdicts.append(_verdict(row, faces, slot, now, settle))
    return verdicts


def _verdict(
    row: JournalRow, faces: Sequence[Face], slot: int | None, now: float, settle: float
) -> Verdict:
    if slot is not None and row.external_key:
        found = tuple(f.face_id for f in faces if f.customer_value(slot) == row.external_key)
        if found:
            return Verdict(row, "applied", found, f"carries external key {row.external_key}")
        if now < row.updated_at + settle:
            return _wait(row, now, settle)
        return Verdict(row, "absent", (), f"no face carries external key {row.external_key}")
    found = tuple(f.face_id for f in faces if _same_person(row, f))
    if found:
        return Verdict(row, "likely", found, "a face has the same name and attributes")
    if now < row.updated_at + settle:
        return _wait(row, now, settle)
    return Verdict(row, "absent", (), "no face has its name and attributes")


def _wait(row: JournalRow, now: float, settle: float) -> Verdict:
    left = row.updated_at + settle - now
    return Verdict(row, "wait", (), f"sent {now - row.updated_at:.0f} s ago: check in {left:.0f} s")


def _same_person(row: JournalRow, face: Face) -> bool:
    if (face.name or "") != (row.name or ""):
        return False
    attributes = row.attributes or {}
    for field in ("gender", "age_range"):
        wanted = attributes.get(field)
        if wanted is not None and int(getattr(face, field) or 0) != int(wanted):
            return False
    sent = _trimmed(attributes.get("customer_values") or ())
    return _trimmed(face.customer_values) == sent


def _trimmed(values: Iterable[str]) -> tuple[str, ...]:
    out = list(values)
    while out and not out[-1]:
        out.pop()
    return tuple(out)


def resolve_verdicts(
    journal: Journal, verdicts: Iterable[Verdict], *, accept_likely: bool = False
) -> dict[str, int]:
    """Record what the verdicts prove: applied (and, if accepted, likely) items are done,
    absent ones failed (a resumed job sends them once); others stay unknown."""
    counts = {"done": 0, "to send again": 0, "left unknown": 0}
    for verdict in verdicts:
        if verdict.state == "applied" or (verdict.state == "likely" and accept_likely):
            note = f"resolved by a check: {verdict.detail}"
            journal.resolve(verdict.row.key, verdict.face_ids[0], note)
            counts["done"] += 1
        elif verdict.state == "absent":
            journal.resolve(
                verdict.row.key, None, f"not on the server at a check: {verdict.detail}"
            )
            counts["to send again"] += 1
        else:
            counts["left unknown"] += 1
    return counts
