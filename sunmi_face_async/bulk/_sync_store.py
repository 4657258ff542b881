"""What the store holds, as sync needs it: every face of every group, by external key.

Each group is listed once (pages fetched concurrently, by ``export_faces``); a failed page,
or pages that bring fewer faces than the server's own count, abort the listing (a face not
listed would be planned as absent). A face is kept
as a small tuple (ids, name, gender, age range, custom values): never a picture, and no
``Face`` record, so 100,000 faces cost a few tens of MB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ..errors import ProtocolError
from ..models import Face
from ._results import BulkEvent
from .export import export_faces

__all__ = ["ServerFace", "StoreIndex", "list_store"]


@attrs.frozen(slots=True)
class ServerFace:
    """One face on the server, as far as sync compares it."""

    face_id: str
    group_id: str
    name: str
    gender: int | None
    age_range: int | None
    values: tuple[str, ...]

    @classmethod
    def of(cls, face: Face, group_id: str) -> ServerFace:
        """``face`` as listed in ``group_id`` (the group it was listed in is where it is)."""
        return cls(
            face.face_id,
            group_id,
            face.name,
            None if face.gender is None else int(face.gender),
            None if face.age_range is None or int(face.age_range) == 0 else int(face.age_range),
            face.customer_values,
        )


@attrs.define
class StoreIndex:
    """The store's faces by key; ``keyless`` are those with an empty key slot."""

    by_key: dict[str, list[ServerFace]] = attrs.field(factory=dict)
    keyless: list[ServerFace] = attrs.field(factory=list)
    groups: set[str] = attrs.field(factory=set)
    pages: int = 0

    def face_ids(self) -> set[str]:
        """Every listed face's id."""
        found = {face.face_id for faces in self.by_key.values() for face in faces}
        return found | {face.face_id for face in self.keyless}


async def list_store(
    client: Any,
    group_ids: Sequence[str],
    slot: int,
    *,
    concurrency: int,
    on_event: Callable[[BulkEvent], None] | None = None,
) -> StoreIndex:
    """List each of ``group_ids`` once and index its faces by the value in ``slot``."""
    index = StoreIndex(groups=set(group_ids))

    short: list[str] = []

    def seen(event: BulkEvent) -> None:
        if event.kind == "page":
            index.pages += 1
        elif event.kind == "shortfall":
            short.append(f"group {event.key}: {event.detail}")
        if on_event is not None:
            on_event(event)

    # A face listed twice (a group named twice, or one moved while the store is listed) is
    # one face: indexed twice, it would be its own duplicate, and prune would delete it.
    listed: set[str] = set()
    for group_id in dict.fromkeys(group_ids):
        async for face in export_faces(
            client,
            group_id,
            concurrency=concurrency,
            on_event=seen,
        ):
            if face.face_id in listed:
                continue
            listed.add(face.face_id)
            record = ServerFace.of(face, group_id)
            key = face.customer_value(slot)
            if key:
                index.by_key.setdefault(key, []).append(record)
            else:
                index.keyless.append(record)
        if short:
            # A face not listed would be planned as absent (added twice, or kept from
            # prune's view): never plan from a partial listing.
            raise ProtocolError(
                f"{short[0]}; sync plans only from a complete listing, so nothing was changed"
                " (run it again once the group's listing is whole)",
                endpoint="/face/group/getFaceList",
            )
    return index
