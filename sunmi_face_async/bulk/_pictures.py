"""Load, validate and hash a picture in a worker thread, never on the event loop."""

from __future__ import annotations

import hashlib

import anyio.to_thread

from ..pictures import PictureSource, read_picture_sync

__all__ = ["load_picture"]


def _load(source: PictureSource) -> tuple[bytes, str]:
    data = read_picture_sync(source)
    return data, hashlib.sha256(data).hexdigest()


async def load_picture(source: PictureSource) -> tuple[bytes, str]:
    """The picture's bytes and their sha256 (hex); raises ``ValidationError`` if unusable.

    A file is read and hashed in one trip to a worker thread. A picture already in memory
    (at most 1 MB) is hashed on the loop: that costs less than the trip to a thread."""
    if isinstance(source, bytes | bytearray | memoryview):
        return _load(source)
    return await anyio.to_thread.run_sync(_load, source)
