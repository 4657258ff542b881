"""Small decisions of bulk enrollment: item keys, shards, and what an error means."""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Mapping
from typing import Any

import httpx

from ..errors import (
    APIError,
    InvalidNonceError,
    ServerError,
    ThrottledError,
    TimestampExpiredError,
    TransportError,
    ValidationError,
)
from ..models import CUSTOM_SLOTS
from ._adaptive import Signal
from ._client import BulkClient
from .manifest import FaceUpload

__all__ = [
    "about",
    "check_upload",
    "customer_values",
    "default_settle",
    "fallback_key",
    "in_shard",
    "item_key",
    "job_identity",
    "signal_of",
    "surely_not_applied",
]


def item_key(upload: FaceUpload, content_hash: str) -> str:
    """The journal key: the external key if given, else the group and the picture's hash;
    an upload that names its store has the store in front (``S1/key``), so the same picture
    or key in two stores is two items."""
    key = upload.external_key or f"{upload.group_id}:{content_hash}"
    return f"{upload.sunmi_shop_no}/{key}" if upload.sunmi_shop_no else key


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``key`` belongs to shard ``(k, n)``: a stable hash of the key, mod n, is k."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n == k


def fallback_key(upload: FaceUpload) -> str:
    """A name for an upload whose picture could not be read (so it has no hash)."""
    if upload.external_key:
        return upload.external_key
    if upload.line is not None:
        return f"line:{upload.line}"
    if isinstance(upload.pic, str | os.PathLike):
        return os.fspath(upload.pic)
    return f"{upload.group_id}:<bytes>"


def signal_of(exc: Exception) -> Signal:
    """What a failed request says about the server's health (for the adaptive limit)."""
    if isinstance(exc, ThrottledError):
        return Signal.THROTTLED
    if isinstance(exc, ServerError | TransportError):
        return Signal.SERVER_ERROR
    return Signal.OK


def surely_not_applied(exc: Exception) -> bool:
    """Transient, and the server certainly did not apply it: worth another try later.

    5091 (clock) and 5092 (nonce) are gateway refusals made before anything is processed;
    the client re-signs once at once, so one that surfaces here was refused twice.
    """
    if isinstance(exc, TransportError):
        return not exc.sent
    if isinstance(exc, APIError) and exc.outcome_unknown:
        return False  # e.g. a gateway 5xx whose body carried 5091: it may have been applied
    if isinstance(exc, TimestampExpiredError | InvalidNonceError):
        return True
    return isinstance(exc, ThrottledError | ServerError) and not (
        isinstance(exc, APIError) and exc.outcome_unknown
    )


def default_settle(client: object) -> float:
    """How long a killed run's uploads may still land: the client's timeout plus a margin."""
    timeout = getattr(client, "timeout", None)
    if isinstance(timeout, httpx.Timeout):
        timeout = timeout.read
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        return float(timeout) + 5.0
    return 35.0


def about(upload: FaceUpload, values: list[str] | None) -> dict[str, Any]:
    """What the journal keeps to name an item and to check for it later: never the picture."""
    pic = upload.pic
    return {
        "picture": os.fspath(pic) if isinstance(pic, str | os.PathLike) else None,
        "name": upload.name,
        "external_key": upload.external_key,
        "attributes": {
            "gender": _plain(upload.gender),
            "age_range": _plain(upload.age_range),
            "customer_values": list(values or ()),
        },
    }


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, enum.IntEnum) else value


def customer_values(upload: FaceUpload, slot: int | None) -> list[str] | None:
    """The upload's custom values, its external key put in ``slot`` (1 to
    ``CUSTOM_SLOTS``) if any."""
    values = list(upload.customer_values)
    if len(values) > CUSTOM_SLOTS:
        raise ValidationError("customer_values", f"at most {CUSTOM_SLOTS} values")
    if slot is None or not upload.external_key:
        return values or None
    values += [""] * (slot - len(values))
    held = values[slot - 1]
    if held and held != upload.external_key:
        raise ValidationError(
            "customer_values", f"slot {slot} holds {held!r}, but it carries the external key"
        )
    values[slot - 1] = upload.external_key
    return values


def job_identity(
    client: object, slot: int | None, shard: tuple[int, int] | None, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What makes a job this job: the store, the key slot, the shard, and the caller's
    ``extra`` (e.g. the source and target group). A journal refuses another identity."""
    store = getattr(client, "shop", None)
    base_url = getattr(client, "base_url", None)
    identity: dict[str, Any] = {
        "store": dict(store) if isinstance(store, Mapping) else None,
        "base_url": base_url if isinstance(base_url, str) else None,
        "external_key_slot": slot,
        "shard": None if shard is None else f"{shard[0]}/{shard[1]}",
    }
    identity.update(extra or {})
    return identity


async def check_upload(
    client: BulkClient, upload: FaceUpload, data: bytes, values: list[str] | None
) -> None:
    """The checks ``faces.add`` makes, the encoded body's size included, sending nothing
    (``ValidationError``): a dry run and a real run refuse the same items, before the
    journal claims them."""
    check = getattr(getattr(client, "faces", None), "check_add", None)
    if check is None:  # a client without the check: faces.add still checks when sending
        return
    await check(
        upload.group_id,
        pic=data,
        name=upload.name,
        gender=upload.gender,
        age_range=upload.age_range,
        customer_values=values,
    )
