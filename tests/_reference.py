"""The SUNMI signature rule, written out once for every test, independently of the package.

Sort the parameters by key, join them as ``key=value`` with ``&``, append ``&key=<app_key>``,
and take the MD5 of the UTF-8 bytes as upper-case hex. The ``sign`` itself and the picture
file (``pic``) are not signed. Tests check what the package sends or accepts against this, so
it must never import the package; ``tests/test_reference.py`` holds it to the vendor's worked
examples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

UNSIGNED = frozenset({"sign", "pic"})


def canonical_text(fields: Mapping[str, str]) -> str:
    """The signed text without the key: sorted ``key=value`` pairs joined by ``&``."""
    return "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in UNSIGNED)


def reference_sign(fields: Mapping[str, str], key: str) -> str:
    """The sign of ``fields`` (values as sent on the wire) under ``key``, upper-case hex."""
    return hashlib.md5(f"{canonical_text(fields)}&key={key}".encode()).hexdigest().upper()
