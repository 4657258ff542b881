"""Names of items for people: manifest line, file and external key, never an internal key.

An item's journal key (a group id and a picture hash when there is no external key) is
for the journal only; reports and messages name items by where they came from.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .journal import Journal
    from .manifest import FaceUpload

__all__ = ["describe", "duplicate_reason", "label"]


def describe(item: Any, line: int | None) -> dict[str, Any]:
    """``line``, ``file``, ``name`` and ``external_key`` of an upload or a bad row, and its
    ``sunmi_shop_no`` when it names a store (a chain manifest)."""
    pic = getattr(item, "pic", None)
    source = getattr(item, "source", None)  # a ManifestError names its manifest
    if isinstance(pic, str | os.PathLike):
        file: str | None = os.fspath(pic)
    elif isinstance(source, str) and source:
        file = source
    else:
        file = None
    named: dict[str, Any] = {
        "line": line,
        "file": file,
        "name": getattr(item, "name", None) or None,
        "external_key": getattr(item, "external_key", None) or None,
    }
    shop = getattr(item, "sunmi_shop_no", None)
    if shop:
        named["sunmi_shop_no"] = shop
    return named


def label(named: dict[str, Any]) -> str:
    """One phrase: ``line 5 (photos/a.jpg, external key K)``, or what is known of it (a row
    of another store: ``line 5 (store S2, photos/a.jpg, ...)``)."""
    inner = [f"store {named['sunmi_shop_no']}"] if named.get("sunmi_shop_no") else []
    inner += [str(named["file"])] if named.get("file") else []
    if named.get("external_key"):
        inner.append(f"external key {named['external_key']}")
    if not inner and named.get("name"):
        inner.append(f"name {named['name']!r}")
    where = f"line {named['line']}" if named.get("line") is not None else ""
    if where and inner:
        return f"{where} ({', '.join(inner)})"
    return where or ", ".join(inner) or "an item without a file"


async def duplicate_reason(
    journal: Journal, upload: FaceUpload, key: str, first: str | None
) -> str:
    """Why an item is a duplicate, naming its first copy by line and file."""
    if first == key and upload.external_key:
        return f"external key {upload.external_key} already came earlier in this job"
    row = await journal.row(first) if first is not None else None
    if row is None:
        return f"the same picture was already sent to group {upload.group_id}"
    named = {"line": row.line, "file": row.picture, "external_key": row.external_key}
    return f"the same picture as {label(named)} was already sent to group {upload.group_id}"
