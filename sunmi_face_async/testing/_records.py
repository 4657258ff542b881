"""The records the fake keeps: groups, faces, the move strategy, limits, and its error."""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any

import attrs

from ..models import CUSTOM_SLOTS

__all__ = ["FaceRecord", "FakeAPIError", "GroupRecord", "Limits", "MoveStrategy"]

#: Types of the default groups: stranger, regular, employee.
DEFAULT_TYPES = frozenset({1, 2, 3})
SLOTS = CUSTOM_SLOTS


class FakeAPIError(Exception):
    """An error answer of the fake: an envelope ``code`` (and the HTTP status it travels with)."""

    def __init__(self, code: int, msg: str, *, http_status: int = 200) -> None:
        self.code = code
        self.msg = msg
        self.http_status = http_status
        super().__init__(f"{code}: {msg}")


@attrs.frozen
class Limits:
    """The store limits the vendor leaves open; each is a keyword of ``FakeSunmiCloud``."""

    max_groups: int = 10
    max_faces: int = 30_000
    default_capacity: int = 1000
    max_name_length: int = 32
    max_description_length: int = 50
    max_page_size: int = 100


@attrs.define(eq=False)
class FaceRecord:
    """A stored face. The picture itself is not kept, only its digest and size."""

    face_id: str
    group_id: str
    name: str
    gender: int
    age_range: int
    customer_values: list[str]
    create_time: int
    pic_sha256: str
    pic_size: int
    arrival_count: int = 0
    last_arrival_time: int = 0
    arrivals: deque[int] = attrs.field(factory=deque)

    def info(self, group_name: str) -> dict[str, Any]:
        """``/face/getInfo``'s answer: the fields of the vendor's sample, so no custom values."""
        return {
            "face_id": self.face_id,
            "group_id": self.group_id,
            "group_name": group_name,
            "gender": self.gender,
            "age_range": self.age_range,
            "arrival_count": self.arrival_count,
            "create_time": self.create_time,
            "last_arrival_time": self.last_arrival_time,
            "name": self.name,
        }

    def wire(self, group_name: str, *, list_form: bool) -> dict[str, Any]:
        """The face with its custom values.

        ``list_form`` is a ``getFaceList`` item: the vendor's sample names the values
        ``customer_key1..5``. Otherwise it is the fake's own inspection form (``faces_in``,
        the admin ``/faces`` route), which names them ``customer_value1..5``; no API answer
        uses it (``getInfo`` answers :meth:`info`).
        """
        prefix = "customer_key" if list_form else "customer_value"
        out = self.info(group_name)
        for slot, value in enumerate(self.customer_values, start=1):
            out[f"{prefix}{slot}"] = value
        return out


@attrs.define(eq=False)
class GroupRecord:
    """A face group; ``faces`` keeps insertion order, which is the stable page order."""

    group_id: str
    name: str
    type: int
    capacity: int
    description: str = ""
    customer_keys: list[str] = attrs.field(factory=lambda: [""] * SLOTS)
    last_modified_time: int = 0
    faces: dict[str, FaceRecord] = attrs.field(factory=dict)
    _ordered: list[FaceRecord] | None = None

    @property
    def is_default(self) -> bool:
        return self.type in DEFAULT_TYPES

    def changed(self, now: int) -> None:
        self.last_modified_time = now
        self._ordered = None

    def page(self, offset: int, size: int) -> list[FaceRecord]:
        # A snapshot list makes consecutive pages O(page size); any change drops it.
        if self._ordered is None:
            if offset < size:
                return list(islice(self.faces.values(), offset, offset + size))
            self._ordered = list(self.faces.values())
        return self._ordered[offset : offset + size]

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group_id": self.group_id,
            "type": self.type,
            "count": len(self.faces),
            "capacity": self.capacity,
            "last_modified_time": self.last_modified_time,
            "group_name": self.name,
            "description": self.description,
        }
        for slot, key in enumerate(self.customer_keys, start=1):
            out[f"customer_key{slot}"] = key
        return out


@attrs.frozen
class MoveStrategy:
    """Promote a stranger seen ``threshold`` times within ``period`` seconds to ``target``."""

    target_group_id: str
    threshold: int
    period: int
