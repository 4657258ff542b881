"""Tiny, valid PNG pictures, distinct per index (the bulk layer treats equal pictures in one
group as duplicates, so every soak item needs its own)."""

from __future__ import annotations

import struct
import zlib

__all__ = ["tiny_png"]

_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def tiny_png(index: int) -> bytes:
    """A 2 x 2 RGB PNG whose 12 pixel bytes spell ``index``."""
    pixels = index.to_bytes(12, "big")
    rows = b"\x00" + pixels[:6] + b"\x00" + pixels[6:]  # filter byte 0 before each row
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        _MAGIC
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )
