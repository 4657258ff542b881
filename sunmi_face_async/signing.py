"""The SUNMI signature rule, as pure functions.

Every parameter that is sent, except ``sign`` itself and file fields, is sorted by key and
joined as ``key=value`` with ``&`` (raw, not URL-encoded); ``&key=<app_key>`` is appended and
the MD5 of the UTF-8 bytes, in upper-case hex, is the sign. The client signs requests with it,
the fake cloud checks them with it and the webhook module checks callbacks with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Mapping

__all__ = [
    "FILE_FIELDS",
    "canonical_string",
    "format_value",
    "is_valid_nonce",
    "make_nonce",
    "sign_params",
    "verify_sign",
]

#: Fields that carry file content: sent in the multipart body, never signed.
FILE_FIELDS = frozenset({"pic"})

_NONCE_ALPHABET = string.ascii_letters + string.digits
_NONCE_PATTERN_LENGTHS = range(6, 11)


def format_value(value: object) -> str:
    """Render a parameter value exactly as it is sent and signed.

    Strings go as they are, integers as decimal strings and sequences as one compact JSON
    array (the protocol's rule for ``face_id_list``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans have no wire form in the SUNMI protocol")
    if isinstance(value, int):
        return str(int(value))  # int() first: an IntEnum's str() is its name on Python 3.10
    if isinstance(value, list | tuple):
        # Integers stay JSON numbers (event_list); everything else is a JSON string (ids).
        items = [
            v if isinstance(v, int) and not isinstance(v, bool) else format_value(v) for v in value
        ]
        return json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    raise TypeError(f"cannot send a value of type {type(value).__name__}")


def canonical_string(params: Mapping[str, object]) -> str:
    """The string that is hashed, without the trailing ``&key=`` part.

    ``sign``, file fields and parameters whose value is None are left out.
    """
    items = sorted(
        (key, format_value(value))
        for key, value in params.items()
        if value is not None and key != "sign" and key not in FILE_FIELDS
    )
    return "&".join(f"{key}={value}" for key, value in items)


def sign_params(params: Mapping[str, object], app_key: str) -> str:
    """Return the 32-character upper-case MD5 sign of ``params`` under ``app_key``.

    The parameters are encoded before the key joins the hash, so an encoding error never
    repeats the key. The key is this function's argument, and so a local of its frame: the
    client does not sign through it but through a wrapper that keeps the key out of every
    frame (and a caller holding the key in a variable should keep that in mind).
    """
    digest = hashlib.md5(canonical_string(params).encode("utf-8"), usedforsecurity=False)
    digest.update(b"&key=")
    digest.update(app_key.encode("utf-8", "surrogatepass"))
    return digest.hexdigest().upper()


def verify_sign(params: Mapping[str, object], app_key: str) -> bool:
    """Check ``params["sign"]`` against the sign of the other parameters, in constant time."""
    given = params.get("sign")
    if not isinstance(given, str):
        return False
    expected = sign_params(params, app_key)
    return hmac.compare_digest(given.upper().encode("ascii", "replace"), expected.encode("ascii"))


def make_nonce(length: int = 10) -> str:
    """A fresh ``random`` value: ``length`` (6 to 10) characters of ``[A-Za-z0-9]``."""
    if length not in _NONCE_PATTERN_LENGTHS:
        raise ValueError("a nonce has 6 to 10 characters")
    # One draw from the OS's CSPRNG written in base 62: ten times cheaper than ten choices.
    number = secrets.randbelow(62**length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_NONCE_ALPHABET[digit])
    return "".join(chars)


def is_valid_nonce(value: str) -> bool:
    """Whether ``value`` has the form the gateway accepts for ``random``."""
    return len(value) in _NONCE_PATTERN_LENGTHS and all(c in _NONCE_ALPHABET for c in value)
