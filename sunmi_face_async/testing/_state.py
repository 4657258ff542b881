"""One store's face data and the vendor's rules for changing it.

Everything here is synchronous and in memory, so each operation is atomic on the event loop.
Operations raise :class:`FakeAPIError` with the code the vendor document lists for that
endpoint; nothing is changed when they raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ._records import (
    DEFAULT_TYPES,
    FaceRecord,
    FakeAPIError,
    GroupRecord,
    Limits,
    MoveStrategy,
)
from ._records import SLOTS as _SLOTS

__all__ = [
    "DEFAULT_GROUPS",
    "FaceRecord",
    "FakeAPIError",
    "GroupRecord",
    "Limits",
    "MoveStrategy",
    "ShopState",
]

#: (type, name) of the groups every store is created with, in this order.
DEFAULT_GROUPS = ((1, "stranger"), (2, "regular"), (3, "employee"))

_CREATABLE_TYPES = frozenset({4, 5})


def _merge_slots(current: list[str], given: Sequence[str | None]) -> list[str]:
    return [old if new is None else new for old, new in zip(current, given, strict=True)]


class ShopState:
    """The groups, faces, move strategy and push hooks of one ``sunmi_shop_no``."""

    def __init__(
        self, shop_no: str, *, new_id: Callable[[], str], limits: Limits, now: Callable[[], int]
    ) -> None:
        self.shop_no = shop_no
        self.limits = limits
        self._new_id = new_id
        self._now = now
        self.groups: dict[str, GroupRecord] = {}
        self.faces: dict[str, FaceRecord] = {}
        self._names: dict[str, str] = {}
        self.strategy: MoveStrategy | None = None
        self.hooks: dict[str, frozenset[int]] = {}
        #: Faces added but still being processed (see ``_processing``): in no group yet.
        self.processing: dict[str, FaceRecord] = {}
        for group_type, name in DEFAULT_GROUPS:
            self._insert_group(name, group_type, self._default_capacity, "", [""] * _SLOTS)

    # -- groups ------------------------------------------------------------------------------

    @property
    def _default_capacity(self) -> int:
        return min(self.limits.default_capacity, self.limits.max_faces)

    def _insert_group(
        self, name: str, group_type: int, capacity: int, description: str, keys: list[str]
    ) -> GroupRecord:
        group = GroupRecord(self._new_id(), name, group_type, capacity, description, keys)
        self.groups[group.group_id] = group
        self._names[name] = group.group_id
        return group

    def group(self, group_id: str, missing_code: int) -> GroupRecord:
        group = self.groups.get(group_id)
        if group is None:
            raise FakeAPIError(missing_code, f"group {group_id} not found")
        return group

    def default_group(self, group_type: int) -> GroupRecord:
        return next(g for g in self.groups.values() if g.type == group_type)

    def _check_text(self, name: str | None, description: str | None) -> None:
        if name is not None and not 0 < len(name) <= self.limits.max_name_length:
            raise FakeAPIError(5020, f"name must have 1 to {self.limits.max_name_length} chars")
        if description is not None and len(description) > self.limits.max_description_length:
            limit = self.limits.max_description_length
            raise FakeAPIError(5020, f"description has more than {limit} chars")

    def _check_capacity(self, capacity: int, count: int) -> None:
        if capacity < 1:
            raise FakeAPIError(5020, "capacity must be positive")
        if capacity > self.limits.max_faces:
            raise FakeAPIError(5520, f"capacity over the store limit {self.limits.max_faces}")
        if capacity < count:
            raise FakeAPIError(5520, f"capacity below the {count} faces the group holds")

    def create_group(
        self,
        name: str,
        group_type: int,
        capacity: int | None,
        description: str | None,
        keys: Sequence[str | None],
    ) -> GroupRecord:
        if group_type in DEFAULT_TYPES:
            raise FakeAPIError(5523, "the store already has its default group of that type")
        if group_type not in _CREATABLE_TYPES:
            raise FakeAPIError(5020, f"unknown group type {group_type}")
        self._check_text(name, description)
        capacity = self._default_capacity if capacity is None else capacity
        self._check_capacity(capacity, 0)
        if name in self._names:
            raise FakeAPIError(5523, "a group with that name exists")
        if len(self.groups) >= self.limits.max_groups:
            raise FakeAPIError(5520, f"the store has {self.limits.max_groups} groups already")
        slots = _merge_slots([""] * _SLOTS, keys)
        return self._insert_group(name, group_type, capacity, description or "", slots)

    def update_group(
        self,
        group_id: str,
        name: str | None,
        capacity: int | None,
        description: str | None,
        keys: Sequence[str | None],
    ) -> None:
        group = self.group(group_id, 5506)
        if group.is_default:
            raise FakeAPIError(5525, "default groups cannot be modified")
        self._check_text(name, description)
        if capacity is not None:
            self._check_capacity(capacity, len(group.faces))
        if name is not None and self._names.get(name, group_id) != group_id:
            raise FakeAPIError(5523, "a group with that name exists")
        if name is not None:
            del self._names[group.name]
            self._names[name] = group_id
            group.name = name
        if capacity is not None:
            group.capacity = capacity
        if description is not None:
            group.description = description
        group.customer_keys = _merge_slots(group.customer_keys, keys)
        group.changed(self._now())

    def delete_group(self, group_id: str) -> None:
        group = self.group(group_id, 5506)
        if group.is_default:
            raise FakeAPIError(5524, "default groups cannot be deleted")
        if group.faces:
            raise FakeAPIError(5509, "the group is not empty")
        del self.groups[group_id]
        del self._names[group.name]
        if self.strategy is not None and self.strategy.target_group_id == group_id:
            self.strategy = None

    def set_strategy(self, target_group_id: str, threshold: int, period: int) -> None:
        target = self.group(target_group_id, 5506)
        if target.type == 1:
            raise FakeAPIError(5525, "strangers cannot be moved into the stranger group")
        if threshold < 1 or period < 1:
            raise FakeAPIError(5020, "threshold and period must be positive")
        self.strategy = MoveStrategy(target_group_id, threshold, period)

    # -- faces -------------------------------------------------------------------------------

    def face(self, face_id: str) -> FaceRecord:
        face = self.faces.get(face_id)
        if face is None and face_id in self.processing:
            raise FakeAPIError(5506, f"face {face_id} is still being processed")
        if face is None:
            raise FakeAPIError(5506, f"face {face_id} not found")
        return face

    def page(self, group_id: str, page_num: int, page_size: int) -> tuple[list[FaceRecord], int]:
        group = self.group(group_id, 5506)
        if page_num < 1 or not 1 <= page_size <= self.limits.max_page_size:
            limit = self.limits.max_page_size
            raise FakeAPIError(5020, f"page_num must be >= 1 and page_size 1 to {limit}")
        return group.page((page_num - 1) * page_size, page_size), len(group.faces)

    def _check_room(self, group: GroupRecord, adding: int) -> None:
        if len(group.faces) + adding > group.capacity:
            raise FakeAPIError(5520, f"group {group.group_id} is full")

    def add_face(
        self,
        group_id: str,
        *,
        name: str,
        gender: int,
        age_range: int,
        values: Sequence[str | None],
        pic_sha256: str,
        pic_size: int,
    ) -> FaceRecord:
        group = self.group(group_id, 5013)
        self._check_room(group, 1)
        if len(self.faces) >= self.limits.max_faces:
            raise FakeAPIError(5520, f"the store holds {self.limits.max_faces} faces already")
        now = self._now()
        face = FaceRecord(
            face_id=self._new_id(),
            group_id=group_id,
            name=name,
            gender=gender,
            age_range=age_range,
            customer_values=_merge_slots([""] * _SLOTS, values),
            create_time=now,
            pic_sha256=pic_sha256,
            pic_size=pic_size,
        )
        self.faces[face.face_id] = face
        group.faces[face.face_id] = face
        group.changed(now)
        return face

    def update_face(
        self,
        group_id: str,
        face_id: str,
        *,
        name: str | None,
        gender: int | None,
        age_range: int | None,
        values: Sequence[str | None],
    ) -> None:
        group = self.group(group_id, 5013)
        face = group.faces.get(face_id)
        if face is None:
            raise FakeAPIError(5521, f"face {face_id} is not in group {group_id}")
        if name is not None:
            face.name = name
        if gender is not None:
            face.gender = gender
        if age_range is not None:
            face.age_range = age_range
        face.customer_values = _merge_slots(face.customer_values, values)
        group.changed(self._now())

    def delete_faces(self, group_id: str, face_ids: Iterable[str]) -> None:
        group = self.group(group_id, 5013)
        for face_id in face_ids:
            # Ids that are not in the group are ignored: deleting is idempotent.
            if group.faces.pop(face_id, None) is not None:
                del self.faces[face_id]
        group.changed(self._now())

    def move_faces(self, source_id: str, target_id: str, face_ids: Sequence[str]) -> None:
        source = self.group(source_id, 5522)
        target = self.group(target_id, 5522)
        unique = list(dict.fromkeys(face_ids))
        missing = [f for f in unique if f not in source.faces]
        if missing:
            raise FakeAPIError(5521, f"face {missing[0]} is not in group {source_id}")
        if source is target:
            return
        self._check_room(target, len(unique))
        self._move(source, target, unique)

    def _move(self, source: GroupRecord, target: GroupRecord, face_ids: Iterable[str]) -> None:
        for face_id in face_ids:
            face = source.faces.pop(face_id)
            face.group_id = target.group_id
            target.faces[face_id] = face
        now = self._now()
        source.changed(now)
        target.changed(now)

    def arrival(self, face_id: str, at: int) -> FaceRecord:
        """A camera saw ``face_id`` at ``at``; strangers may move per the strategy."""
        face = self.face(face_id)
        face.arrival_count += 1
        face.last_arrival_time = max(face.last_arrival_time, at)
        group = self.groups[face.group_id]
        strategy = self.strategy
        if group.type != 1 or strategy is None:
            return face
        face.arrivals.append(at)
        while face.arrivals and face.arrivals[0] <= at - strategy.period:
            face.arrivals.popleft()
        target = self.groups.get(strategy.target_group_id)
        seen = sum(1 for t in face.arrivals if t <= at)
        if (
            target is not None
            and seen >= strategy.threshold
            and len(target.faces) < target.capacity
        ):
            self._move(group, target, [face_id])
            face.arrivals.clear()
        return face
