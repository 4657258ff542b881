"""The sync journal's records: a picture sync uploaded, and an action left in flight."""

from __future__ import annotations

import attrs

__all__ = ["InFlight", "PictureRecord"]


@attrs.frozen
class PictureRecord:
    """The picture sync uploaded for a key: its face, sha256, and the file it came from."""

    face_id: str
    group_id: str
    sha256: str
    path: str | None = None
    size: int | None = None
    mtime_ns: int | None = None


@attrs.frozen
class InFlight:
    """An action a run recorded before its request, not recorded done: outcome unknown."""

    key: str
    action: str
    face_id: str | None
    group_id: str | None
    sha256: str | None
    updated_at: float
