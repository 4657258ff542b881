"""Load, validate and hash a picture in a worker thread, never on the event loop."""

from __future__ import annotations

import hashlib

import anyio.to_thread

from ..pictures import PictureSource, read_picture_sync

__all__ = ["load_picture"]


def _load(source: PictureSource) -> tuple[bytes, str]:
    data = read_picture_sync(source)
    return data, hashlib.sha256(data).hexdigest()


#: Pictures already in memory up to this size are hashed on the loop: it takes microseconds,
#: less than the trip to a worker thread. A larger one is hashed in a thread: 500 KB take
#: about 300 µs of sha256, more than the trip, and the loop is what a busy job runs short of.
INLINE_HASH_BYTES = 64 * 1024


async def load_picture(source: PictureSource) -> tuple[bytes, str]:
    """The picture's bytes and their sha256 (hex); raises ``ValidationError`` if unusable."""
    if isinstance(source, bytes | bytearray | memoryview) and len(source) <= INLINE_HASH_BYTES:
        return _load(source)
    return await anyio.to_thread.run_sync(_load, source)
