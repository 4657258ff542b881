"""The demo's synthetic pictures are real, distinct PNG files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import face_png, write_faces


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """A tiny independent PNG reader: checks magic and every chunk CRC, returns the pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    kinds = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        payload = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload), f"bad CRC in {kind!r}"
        kinds.append(kind)
        if kind == b"IHDR":
            header = payload
        elif kind == b"IDAT":
            idat += payload
        pos += 12 + length
    assert kinds[0] == b"IHDR"
    assert kinds[-1] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) == (8, 2, 0)
    return width, height, zlib.decompress(idat)


def test_picture_is_a_decodable_64x64_rgb_png() -> None:
    width, height, raw = decode_png(face_png(5))
    assert (width, height) == (64, 64)
    assert len(raw) == 64 * (1 + 64 * 3)
    assert all(raw[row * (1 + 64 * 3)] == 0 for row in range(64))  # filter byte: none


def test_pictures_differ_per_index_and_repeat_per_index() -> None:
    pictures = [face_png(i) for i in range(200)]
    assert len(set(pictures)) == 200
    assert face_png(17) == face_png(17)


def test_pictures_are_small_enough_for_the_api() -> None:
    assert max(len(face_png(i)) for i in range(50)) < 1024 * 1024


@pytest.mark.parametrize("index", [-1, 2**32])
def test_index_out_of_range_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="index"):
        face_png(index)


def test_write_faces_names_files_by_index(tmp_path: Path) -> None:
    paths = write_faces(tmp_path / "pics", 3, start=10)
    assert [p.name for p in paths] == ["face-00010.png", "face-00011.png", "face-00012.png"]
    assert paths[1].read_bytes() == face_png(11)
