"""Small decisions of bulk enrollment: item keys, shards, and what an error means."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import httpx

from ..errors import (
    APIError,
    InvalidNonceError,
    ServerError,
    ThrottledError,
    TimestampExpiredError,
    TransportError,
)
from ._adaptive import Signal
from .manifest import FaceUpload

__all__ = [
    "backoff",
    "default_settle",
    "fallback_key",
    "in_shard",
    "item_key",
    "signal_of",
    "surely_not_applied",
]


def item_key(upload: FaceUpload, content_hash: str) -> str:
    """The journal key: the external key if given, else the group and the picture's hash."""
    return upload.external_key or f"{upload.group_id}:{content_hash}"


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


def backoff(exc: Exception, attempt: int, base: float) -> float:
    """Seconds to wait before try ``attempt + 1``: the server's hint, else doubling."""
    hint = exc.retry_after if isinstance(exc, APIError) else None
    if hint is not None and hint > 0:
        return min(float(hint), 30.0)
    return float(min(base * 2 ** (attempt - 1), 5.0))


def default_settle(client: Any) -> float:
    """How long a killed run's uploads may still land: the client's timeout plus a margin."""
    timeout = getattr(client, "timeout", None)
    if isinstance(timeout, httpx.Timeout):
        timeout = timeout.read
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        return float(timeout) + 5.0
    return 35.0
