"""Push callbacks: the typed event, its errors, parsing and verification.

SUNMI POSTs form-encoded callbacks signed with the integrator's app_key by the same rule as
requests. :func:`verify_callback` checks the sign in constant time, the timestamp window and,
given a replay cache, that the same signed delivery is not accepted twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from ..errors import SunmiError
from ..signing import FILE_FIELDS, verify_sign
from ._cache import ReplayStore

__all__ = [
    "CallbackError",
    "ExpiredCallbackError",
    "InvalidSignatureError",
    "MalformedCallbackError",
    "PushEvent",
    "ReplayedCallbackError",
    "parse_callback",
    "verify_callback",
]

#: Default timestamp window, in seconds either side of now. SUNMI's last retry comes 3m45s
#: after the first attempt, which stays inside it if retries keep the first timestamp.
DEFAULT_MAX_AGE = 300.0

_KNOWN_FIELDS = frozenset(
    {"app_id", "event", "payload", "random", "shop_id", "sunmi_shop_no", "timestamp", "sign"}
)
_REQUIRED_FIELDS = ("app_id", "event", "timestamp", "random", "sign")
_DIGITS = re.compile(r"[0-9]{1,12}")
_MAX_RANDOM_LENGTH = 64


class CallbackError(SunmiError):
    """A push callback was refused. Messages never hold the app_key or the expected sign."""


class MalformedCallbackError(CallbackError):
    """The callback is not a well-formed SUNMI push (missing or unparsable fields)."""


class InvalidSignatureError(CallbackError):
    """The sign does not match: the callback is forged or signed with another key."""


class ExpiredCallbackError(CallbackError):
    """The callback's timestamp is outside the accepted window (too old or in the future)."""


class ReplayedCallbackError(CallbackError):
    """This exact signed delivery was accepted before.

    ``event`` holds the (authentic) event, so a receiver can acknowledge the duplicate with a
    2xx without processing it again.
    """

    def __init__(self, event: PushEvent) -> None:
        self.event = event
        super().__init__(f"callback already accepted (event {event.event}, random {event.random})")


@attrs.frozen
class PushEvent:
    """One push from SUNMI's notification centre.

    ``payload`` is the decoded JSON object of the ``payload`` field ({} when it is absent or
    empty). ``extra`` keeps signed fields this version does not know about.
    """

    event: int
    app_id: str
    shop_id: str
    sunmi_shop_no: str
    payload: dict[str, Any]
    timestamp: datetime
    random: str
    extra: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    @property
    def fingerprint(self) -> str:
        """A digest of what the event says (not when or how it was delivered).

        Two deliveries of the same event share it even if SUNMI re-signs a retry with a new
        timestamp and random, so receivers can use it as an idempotency key.
        """
        content = json.dumps(
            [self.app_id, self.shop_id, self.sunmi_shop_no, self.event, self.payload],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            default=str,
        )
        return hashlib.sha256(content.encode("ascii")).hexdigest()


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise MalformedCallbackError(f"field {name!r} must be a string")
    return value


def _require_fields(form: Mapping[str, object]) -> None:
    if not isinstance(form, Mapping):
        raise MalformedCallbackError("a callback form must be a mapping of strings")
    missing = [name for name in _REQUIRED_FIELDS if not _text(form, name)]
    if missing:
        raise MalformedCallbackError(f"missing fields: {', '.join(missing)}")
    for key, value in form.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise MalformedCallbackError("a callback form must be a mapping of strings")


def _parse_payload(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedCallbackError("payload is not valid JSON") from None
    if not isinstance(payload, dict):
        raise MalformedCallbackError("payload is not a JSON object")
    return payload


def parse_callback(form: Mapping[str, str]) -> PushEvent:
    """Read a callback's fields into a :class:`PushEvent`, without checking the sign.

    Use :func:`verify_callback` for anything that arrives from the network.
    """
    _require_fields(form)
    event_text, ts_text = _text(form, "event"), _text(form, "timestamp")
    if not _DIGITS.fullmatch(event_text):
        raise MalformedCallbackError("event must be a decimal integer")
    if not _DIGITS.fullmatch(ts_text):
        raise MalformedCallbackError("timestamp must be unix seconds")
    random = _text(form, "random")
    if len(random) > _MAX_RANDOM_LENGTH:
        raise MalformedCallbackError("random is too long")
    try:
        timestamp = datetime.fromtimestamp(int(ts_text), tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MalformedCallbackError("timestamp is out of range") from None
    extra = {
        key: value
        for key, value in form.items()
        if key not in _KNOWN_FIELDS and key not in FILE_FIELDS
    }
    return PushEvent(
        event=int(event_text),
        app_id=_text(form, "app_id"),
        shop_id=_text(form, "shop_id"),
        sunmi_shop_no=_text(form, "sunmi_shop_no"),
        payload=_parse_payload(_text(form, "payload")),
        timestamp=timestamp,
        random=random,
        extra=extra,
    )


def verify_callback(
    form: Mapping[str, str],
    app_key: str,
    *,
    max_age: float = DEFAULT_MAX_AGE,
    seen: ReplayStore | None = None,
    now: float | None = None,
) -> PushEvent:
    """Authenticate a callback form and return its event.

    Checks, in order: the required fields (:class:`MalformedCallbackError`), the sign, in
    constant time (:class:`InvalidSignatureError`), the rest of the form, the timestamp within
    ``max_age`` seconds of ``now`` (:class:`ExpiredCallbackError`) and, when ``seen`` is given,
    that this signed delivery is new (:class:`ReplayedCallbackError`, which carries the event).
    Only authentic deliveries are remembered in ``seen``. A full ``seen`` never forgets an
    unexpired delivery: it raises ``ReplayCacheFullError`` (``retry_after`` seconds until
    room frees up), which a receiver answers with 503 and ``Retry-After``, not processing it.
    """
    if not app_key:
        raise ValueError("app_key must not be empty")
    if max_age <= 0:
        raise ValueError("max_age must be positive")
    _require_fields(form)
    if not verify_sign(form, app_key):
        raise InvalidSignatureError("callback signature does not match")
    event = parse_callback(form)
    current = time.time() if now is None else now
    sent_at = event.timestamp.timestamp()
    if abs(current - sent_at) > max_age:
        raise ExpiredCallbackError(
            f"callback timestamp is {current - sent_at:+.0f} s from now; "
            f"the window is ±{max_age:.0f} s"
        )
    if seen is not None:
        key = ("delivery", form["timestamp"], form["random"], form["sign"].upper())
        if not seen.add(key, expires_at=sent_at + max_age, now=current):
            raise ReplayedCallbackError(event)
    return event
