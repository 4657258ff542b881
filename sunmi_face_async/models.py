"""Typed records of the face API: groups, faces, pages, and the enums they carry.

Records are frozen attrs classes, so they are hashable, comparable and cheap. Every field the
server sends is optional when parsing (``from_wire`` fills gaps with None or empty values), and
the enums accept codes the server may add later instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

import attrs

__all__ = [
    "CUSTOM_SLOTS",
    "AgeRange",
    "Face",
    "FaceGroup",
    "FacePage",
    "Gender",
    "GroupType",
    "to_dict",
]

#: How many custom fields a group (and so each face) has: slots 1 to ``CUSTOM_SLOTS``.
CUSTOM_SLOTS = 5


class _OpenIntEnum(IntEnum):
    """An IntEnum that turns an unknown integer into a pseudo-member instead of raising."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None

    @classmethod
    def is_known(cls, value: object) -> bool:
        """Whether ``value`` is one of the documented members (unknown pseudo-members are not)."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value in cls._value2member_map_
        )


class GroupType(_OpenIntEnum):
    """Kind of face group. Only CUSTOM groups can be created or changed by integrators."""

    STRANGER = 1
    REGULAR = 2
    EMPLOYEE = 3
    BLACKLIST = 4
    CUSTOM = 5


class Gender(_OpenIntEnum):
    UNKNOWN = 0
    MALE = 1
    FEMALE = 2


class AgeRange(_OpenIntEnum):
    AGE_0_6 = 1
    AGE_7_12 = 2
    AGE_13_18 = 3
    AGE_19_28 = 4
    AGE_29_35 = 5
    AGE_36_45 = 6
    AGE_46_55 = 7
    AGE_56_PLUS = 8


def _slot(values: tuple[str, ...], slot: int) -> str:
    if not 1 <= slot <= CUSTOM_SLOTS:
        raise ValueError(f"custom field slots are numbered 1 to {CUSTOM_SLOTS}")
    return values[slot - 1] if slot <= len(values) else ""


@attrs.frozen
class FaceGroup:
    """A face group of a store.

    ``customer_keys`` names the group's custom fields (up to ``CUSTOM_SLOTS``).
    """

    group_id: str
    name: str = ""
    type: GroupType | None = None
    count: int | None = None
    capacity: int | None = None
    last_modified_time: datetime | None = None
    description: str = ""
    customer_keys: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        """Default groups (stranger, regular, employee) cannot be changed or deleted."""
        return self.type in (GroupType.STRANGER, GroupType.REGULAR, GroupType.EMPLOYEE)

    @classmethod
    def from_wire(cls, data: object, endpoint: str = "") -> FaceGroup:
        """The group one JSON object of the API describes (raises ``ProtocolError`` if bad)."""
        from ._convert import parse_group  # _convert imports this module

        return parse_group(data, endpoint)


@attrs.frozen
class Face:
    """One enrolled face. ``customer_values`` holds its values of the group's custom fields."""

    face_id: str
    group_id: str | None = None
    group_name: str = ""
    name: str = ""
    gender: Gender | None = None
    age_range: AgeRange | None = None
    arrival_count: int | None = None
    create_time: datetime | None = None
    last_arrival_time: datetime | None = None
    customer_values: tuple[str, ...] = ()

    def customer_value(self, slot: int) -> str:
        """The value of custom field ``slot`` (1 to ``CUSTOM_SLOTS``); empty when unset."""
        return _slot(self.customer_values, slot)

    @classmethod
    def from_wire(cls, data: object, endpoint: str = "") -> Face:
        """The face one JSON object of the API describes (raises ``ProtocolError`` if bad)."""
        from ._convert import parse_face  # _convert imports this module

        return parse_face(data, endpoint)


@attrs.frozen
class FacePage:
    """One page of ``groups.list_faces``; ``total_num`` is the server's count of the group.

    The count is the server's word, not a promise, and the server may serve fewer faces than
    ``page_size``: ``page_count`` and ``has_more`` only repeat what it says (``iter_faces``
    and ``bulk.export_faces`` do not rely on them).
    """

    faces: tuple[Face, ...]
    total_num: int
    page_num: int
    page_size: int

    @property
    def page_count(self) -> int:
        """How many pages of this size the group holds."""
        return -(-self.total_num // self.page_size) if self.page_size else 0

    @property
    def has_more(self) -> bool:
        return self.page_num < self.page_count and len(self.faces) == self.page_size


def to_dict(record: Face | FaceGroup) -> dict[str, Any]:
    """A JSON-ready dict of a record: ISO 8601 times, enums as integers, tuples as lists."""
    from ._convert import to_dict as convert  # _convert imports this module

    return convert(record)
