"""What sync compares: a face's managed fields against a manifest row, and a picture
against the record of the one sync uploaded (by file size and mtime first, so an untouched
file is not read again; else by its sha256)."""

from __future__ import annotations

import hashlib
import os

from ..errors import ValidationError
from ..pictures import read_picture_sync
from ._sync_journal import PictureRecord
from ._sync_store import ServerFace
from .manifest import FaceUpload

__all__ = ["differences", "picture_changed", "picture_record", "stat_of"]


def stat_of(pic: object) -> tuple[str, int, int] | None:
    """(path, size, mtime_ns) of a picture file, or None (bytes, or not a readable file)."""
    if not isinstance(pic, str | os.PathLike):
        return None
    try:
        found = os.stat(pic)
    except OSError:
        return None
    return os.fspath(pic), found.st_size, found.st_mtime_ns


def picture_record(
    face_id: str, group_id: str, digest: str, stat: tuple[str, int, int] | None
) -> PictureRecord:
    path, size, mtime = stat if stat is not None else (None, None, None)
    return PictureRecord(face_id, group_id, digest, path, size, mtime)


def picture_changed(pic: object, record: PictureRecord) -> bool | str:
    """Whether the picture differs from the recorded one (blocking); a string says why it
    cannot be read."""
    stat = stat_of(pic)
    if stat is not None and (record.path, record.size, record.mtime_ns) == stat:
        return False  # the very file sync uploaded, untouched: not read again
    try:
        data = read_picture_sync(pic)  # type: ignore[arg-type]
    except ValidationError as exc:
        return str(exc)
    return hashlib.sha256(data).hexdigest() != record.sha256


def _plain(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def differences(upload: FaceUpload, values: list[str] | None, face: ServerFace) -> list[str]:
    """The managed fields whose server value is not the manifest's."""
    changed: list[str] = []
    if upload.name is not None and upload.name != face.name:
        changed.append("name")
    gender = _plain(upload.gender)
    if gender is not None and gender != face.gender:
        changed.append("gender")
    age = _plain(upload.age_range)
    if age is not None and age != face.age_range:
        changed.append("age_range")
    for slot, wanted in enumerate(values or (), start=1):
        have = face.values[slot - 1] if slot <= len(face.values) else ""
        if wanted and wanted != have:
            changed.append(f"customer_value{slot}")
    return changed
