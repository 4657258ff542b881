"""Synthetic face pictures for demos and tests, made with the standard library only.

Each picture is a small, valid PNG of a cartoon face whose colours depend on its index, and
whose bottom row encodes the index in black and white pixels, so no two pictures are alike
(the bulk layer treats two identical pictures in one group as a duplicate).
"""

from __future__ import annotations

import colorsys
import functools
import struct
import zlib
from pathlib import Path

__all__ = ["PNG_MAGIC", "face_png", "tiny_png", "write_faces"]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GOLDEN = 0.618033988749895
_INDEX_BITS = 32

RGB = tuple[int, int, int]


def _hsl(hue: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


def _inside(x: float, y: float, cx: float, cy: float, rx: float, ry: float) -> bool:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


# Pixel classes of the drawing; the shape depends on a few index bits, the colours on all.
_BACKGROUND, _HAIR, _SKIN, _EYE, _MOUTH = range(5)


@functools.lru_cache(maxsize=64)
def _mask(variant: int, size: int) -> bytes:
    """The class of every pixel for one shape variant, row by row."""
    eye_dy = 0.02 * (variant % 3)
    mouth_w = 0.12 + 0.02 * ((variant // 3) % 4)
    hair = 0.18 + 0.04 * ((variant // 12) % 2)
    out = bytearray()
    for y in range(size):
        v = (y + 0.5) / size
        for x in range(size):
            u = (x + 0.5) / size
            if _inside(u, v, 0.36, 0.42 + eye_dy, 0.06, 0.05) or _inside(
                u, v, 0.64, 0.42 + eye_dy, 0.06, 0.05
            ):
                out.append(_EYE)
            elif abs(v - 0.68) < 0.03 and abs(u - 0.5) < mouth_w:
                out.append(_MOUTH)
            elif _inside(u, v, 0.5, 0.52, 0.32, 0.4):
                out.append(_SKIN)
            elif v < hair:
                out.append(_HAIR)
            else:
                out.append(_BACKGROUND)
    return bytes(out)


def _palette(index: int) -> list[bytes]:
    hue = index * _GOLDEN
    skin = _hsl(0.07 + 0.03 * ((index // 7) % 4), 0.55 + 0.05 * (index % 3), 0.45)
    colours = {
        _BACKGROUND: _hsl(hue, 0.75, 0.55),
        _HAIR: _hsl(hue + 0.5, 0.25, 0.5),
        _SKIN: skin,
        _EYE: (30, 30, 40),
        _MOUTH: _hsl(0.0, 0.35, 0.6),
    }
    return [bytes(colours[k]) for k in range(5)]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def face_png(index: int, size: int = 64) -> bytes:
    """A ``size`` x ``size`` RGB PNG of synthetic face number ``index`` (0 <= index < 2**32)."""
    if not 0 <= index < 2**_INDEX_BITS:
        raise ValueError(f"index must be in [0, 2**{_INDEX_BITS})")
    if size < _INDEX_BITS:
        raise ValueError(f"size must be at least {_INDEX_BITS} pixels")
    mask = _mask(index % 24, size)
    palette = _palette(index)
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type: none
        row = mask[y * size : (y + 1) * size]
        if y == size - 1:  # the index, one bit per pixel, keeps every picture unique
            bits = [(index >> x) & 1 for x in range(_INDEX_BITS)]
            rows.extend(b"".join(b"\xff\xff\xff" if b else b"\0\0\0" for b in bits))
            row = row[_INDEX_BITS:]
        rows.extend(b"".join(palette[k] for k in row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        PNG_MAGIC
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def tiny_png(index: int) -> bytes:
    """The smallest valid distinct PNG: 2 x 2 RGB pixels whose 12 bytes spell ``index``.

    For soak tests and benchmarks that need many thousands of distinct pictures cheaply.
    """
    pixels = index.to_bytes(12, "big")
    rows = b"\x00" + pixels[:6] + b"\x00" + pixels[6:]  # filter byte 0 before each row
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def write_faces(directory: Path, count: int, *, start: int = 0, prefix: str = "face") -> list[Path]:
    """Write ``count`` pictures named ``{prefix}-{index:05d}.png`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(start, start + count):
        path = directory / f"{prefix}-{index:05d}.png"
        path.write_bytes(face_png(index))
        paths.append(path)
    return paths
