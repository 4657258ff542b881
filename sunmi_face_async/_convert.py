"""The private cattrs converter between the API's JSON and the models.

The wire shape differs from the models in three ways, handled here and nowhere else: unix
seconds become aware UTC datetimes (0 means "never" and becomes None), the five numbered
``customer_keyN`` / ``customer_valueN`` fields become one tuple, and every field may be
missing, null or of a loosely related type (ids as numbers, numbers as strings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import cattrs

from .errors import ProtocolError
from .models import CUSTOM_SLOTS, AgeRange, Face, FaceGroup, FacePage, Gender, GroupType

__all__ = ["converter", "parse_face", "parse_face_page", "parse_group", "parse_groups", "to_dict"]

T = TypeVar("T")
_SLOTS = tuple(range(1, CUSTOM_SLOTS + 1))
_KEY_FIELDS = tuple(f"customer_key{i}" for i in _SLOTS)
_VALUE_FIELDS = tuple(f"customer_value{i}" for i in _SLOTS)


_INTEGER = re.compile(r"\s*-?[0-9]{1,18}\s*\Z")


def parse_int_text(text: str) -> int | None:
    """The integer an ASCII decimal string spells, or None (``"²"`` and ``"--5"`` are not)."""
    return int(text) if _INTEGER.match(text) else None


def _to_int(value: object, _: object = None) -> int:
    if isinstance(value, bool):
        raise TypeError("expected a number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and (number := parse_int_text(value)) is not None:
        return number
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _to_str(value: object, _: object = None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _to_time(value: object, _: object = None) -> datetime | None:
    if value is None:
        return None
    seconds = _to_int(value)
    if seconds == 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise TypeError(f"not a unix time: {seconds}") from exc


def _slots(raw: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, ...]:
    values = [_to_str(raw.get(name)) for name in names]
    while values and not values[-1]:
        values.pop()
    return tuple(values)


converter = cattrs.Converter(detailed_validation=False)
converter.register_structure_hook(int, _to_int)
converter.register_structure_hook(str, _to_str)
converter.register_structure_hook(datetime, _to_time)
converter.register_structure_hook(datetime | None, _to_time)
for _enum in (GroupType, Gender, AgeRange):
    converter.register_structure_hook(_enum, lambda v, t: t(_to_int(v)))
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())


def _mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise TypeError(f"{what} is {type(raw).__name__}, not an object")
    return raw


def _group_fields(raw: object) -> dict[str, Any]:
    raw = _mapping(raw, "a group")
    fields = {k: v for k, v in raw.items() if k not in _KEY_FIELDS and v is not None}
    fields["group_id"] = _to_str(raw.get("group_id"))
    fields["name"] = _to_str(fields.pop("group_name", raw.get("name")))
    fields["customer_keys"] = _slots(raw, _KEY_FIELDS)
    return fields


def _face_fields(raw: object) -> dict[str, Any]:
    raw = _mapping(raw, "a face")
    drop = _KEY_FIELDS + _VALUE_FIELDS
    fields = {k: v for k, v in raw.items() if k not in drop and v is not None}
    fields["face_id"] = _to_str(raw.get("face_id"))
    # getInfo may name the values customer_valueN; the list output reuses customer_keyN.
    has_values = any(raw.get(name) not in (None, "") for name in _VALUE_FIELDS)
    fields["customer_values"] = _slots(raw, _VALUE_FIELDS if has_values else _KEY_FIELDS)
    return fields


def _structure(fields: dict[str, Any], cls: type[T], endpoint: str, raw: object) -> T:
    try:
        return converter.structure(fields, cls)
    except Exception as exc:  # cattrs raises many types; all mean "malformed data"
        raise ProtocolError(
            f"malformed {cls.__name__}: {exc}", endpoint=endpoint, snippet=repr(raw)[:200]
        ) from None


def _guard(build: Any, raw: object, cls: type[T], endpoint: str) -> T:
    try:
        fields = build(raw)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(
            f"malformed {cls.__name__}: {exc}", endpoint=endpoint, snippet=repr(raw)[:200]
        ) from None
    return _structure(fields, cls, endpoint, raw)


def parse_group(raw: object, endpoint: str = "") -> FaceGroup:
    return _guard(_group_fields, raw, FaceGroup, endpoint)


def parse_face(raw: object, endpoint: str = "") -> Face:
    return _guard(_face_fields, raw, Face, endpoint)


def _list_of(raw: object, key: str, endpoint: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise ProtocolError("data is not an object", endpoint=endpoint, snippet=repr(raw)[:200])
    items = raw.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ProtocolError(f"{key} is not a list", endpoint=endpoint, snippet=repr(items)[:200])
    return items


def parse_groups(data: object, endpoint: str = "") -> list[FaceGroup]:
    return [parse_group(item, endpoint) for item in _list_of(data, "group_list", endpoint)]


def parse_face_page(data: object, page_num: int, page_size: int, endpoint: str = "") -> FacePage:
    faces = tuple(parse_face(item, endpoint) for item in _list_of(data, "face_list", endpoint))
    raw_total = data.get("total_num") if isinstance(data, Mapping) else None
    try:
        total = len(faces) if raw_total is None else _to_int(raw_total)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"bad total_num: {exc}", endpoint=endpoint) from None
    return FacePage(faces=faces, total_num=total, page_num=page_num, page_size=page_size)


def to_dict(record: Face | FaceGroup) -> dict[str, Any]:
    """A JSON-ready dict of a record: ISO 8601 times, enums as integers, tuples as lists."""
    out: dict[str, Any] = converter.unstructure(record)
    for key, value in out.items():
        if isinstance(value, tuple):
            out[key] = list(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = int(value)
    return out
