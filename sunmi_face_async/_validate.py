"""Checks on caller input, run before anything is sent.

Each helper returns the value in its wire form or raises ``ValidationError`` naming the
field, so resource methods read as a list of checks followed by one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import IntEnum

from .errors import ValidationError
from .models import CUSTOM_SLOTS

__all__ = [
    "MAX_PAGE_SIZE",
    "custom_slots",
    "enum_value",
    "id_list",
    "nonempty_str",
    "optional_str",
    "positive_int",
    "seconds",
    "text",
]

#: The largest ``page_size`` the client sends. The vendor publishes no maximum; 100 keeps
#: each reply small and is what the bulk export uses.
MAX_PAGE_SIZE = 100
MAX_CUSTOM_FIELDS = CUSTOM_SLOTS


def text(field: str, value: object) -> str:
    """A string that can be sent: UTF-8 encodable (no lone surrogates) and without NUL."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(field, "is not valid Unicode text (lone surrogate)") from None
    if "\x00" in value:
        raise ValidationError(field, "must not contain NUL characters")
    return value


def nonempty_str(field: str, value: object) -> str:
    checked = text(field, value)
    if not checked.strip():
        raise ValidationError(field, "must not be empty")
    return checked


def optional_str(field: str, value: object) -> str | None:
    return None if value is None else text(field, value)


def positive_int(field: str, value: object, *, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValidationError(field, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValidationError(field, f"must be at most {maximum}, got {value}")
    return value


def enum_value(
    field: str, value: object, enum: type[IntEnum], *, required: bool = False
) -> int | None:
    """A documented member of ``enum`` (or its integer), or None when not given."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    known = enum._value2member_map_
    if isinstance(value, bool) or not isinstance(value, int) or value not in known:
        allowed = ", ".join(f"{m.name}={m.value}" for m in enum)
        raise ValidationError(field, f"must be one of {allowed}; got {value!r}")
    return int(value)


def custom_slots(field: str, values: object, prefix: str) -> dict[str, str]:
    """Up to five custom field strings as ``{prefix}1..5`` parameters (None skips a slot)."""
    if values is None:
        return {}
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValidationError(field, "must be a list of up to 5 strings")
    if len(values) > MAX_CUSTOM_FIELDS:
        raise ValidationError(field, f"at most {MAX_CUSTOM_FIELDS} values, got {len(values)}")
    out: dict[str, str] = {}
    for index, value in enumerate(values, start=1):
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValidationError(f"{field}[{index - 1}]", "must be a string or None")
        out[f"{prefix}{index}"] = text(f"{field}[{index - 1}]", value)
    return out


def id_list(field: str, values: object) -> list[str]:
    """A non-empty list of non-empty id strings."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValidationError(field, "must be a list of id strings")
    if not values:
        raise ValidationError(field, "must hold at least one id")
    return [nonempty_str(f"{field}[{i}]", value) for i, value in enumerate(values)]


def seconds(field: str, value: object) -> int:
    """A positive duration, given as a ``timedelta`` or as seconds, in whole seconds."""
    if isinstance(value, timedelta):
        total = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        total = float(value)
    else:
        raise ValidationError(field, "must be a timedelta or a number of seconds")
    if not total >= 1:  # also refuses NaN
        raise ValidationError(field, f"must be at least one second, got {value!r}")
    if total == float("inf"):
        raise ValidationError(field, "must be finite")
    return int(total)
