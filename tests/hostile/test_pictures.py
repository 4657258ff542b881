"""Pictures that lie about their type, empty or oversized ones, and paths that cannot be read."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunmi_face_async import ValidationError

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)
BMP = b"BM" + bytes(300)
GIF = b"GIF89a" + bytes(300)
MB = 1024 * 1024


def picture_part(request: httpx.Request) -> tuple[str, str, bytes]:
    """(filename, content type, content) of the ``pic`` part of a multipart request."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    for part in request.content.split(b"--" + boundary):
        head, _, body = part.partition(b"\r\n\r\n")
        if b'name="pic"' in head:
            text = head.decode()
            filename = re.search(r'filename="([^"]*)"', text)
            content_type = re.search(r"Content-Type: (\S+)", text)
            assert filename is not None
            assert content_type is not None
            return filename.group(1), content_type.group(1), body.removesuffix(b"\r\n")
    raise AssertionError("no pic part")


@pytest.mark.parametrize(
    ("content", "named", "sent_as"),
    [
        (PNG, "face.jpg", ("face.png", "image/png")),
        (JPEG, "face.png", ("face.jpeg", "image/jpeg")),
        (BMP, "face.jpeg", ("face.bmp", "image/bmp")),
        (JPEG, "face", ("face.jpeg", "image/jpeg")),
    ],
)
async def test_the_content_decides_the_declared_type_not_the_file_name(
    harness: Any, tmp_path: Path, content: bytes, named: str, sent_as: tuple[str, str]
) -> None:
    path = tmp_path / named
    path.write_bytes(content)
    async with harness.client() as (client, requests):
        assert await client.faces.add("g1", pic=path) == "578968751459"
    (request,) = requests
    filename, content_type, body = picture_part(request)
    assert (filename, content_type) == sent_as
    assert body == content


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"<html><body>not a face</body></html>", id="html"),
        pytest.param(GIF, id="gif"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"\xff\xd8", id="truncated-jpeg-magic"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_files_that_are_not_pictures_are_refused_unsent(
    harness: Any, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "face.jpg"
    path.write_bytes(content)
    async with harness.client() as (client, requests):
        for source in (path, str(path), content, io.BytesIO(content)):
            with pytest.raises(ValidationError) as caught:
                await client.faces.add("g1", pic=source)
            assert caught.value.field == "pic"
    assert requests == []


@pytest.mark.parametrize(
    "size", [MB - 100, MB, MB + 1, 5 * MB], ids=["body-over-limit", "1mb", "1mb+1", "5mb"]
)
async def test_pictures_whose_request_would_exceed_1_mb_are_refused_unsent(
    harness: Any, tmp_path: Path, size: int
) -> None:
    content = JPEG + bytes(size - len(JPEG))
    path = tmp_path / "big.jpg"
    path.write_bytes(content)
    async with harness.client() as (client, requests):
        for source in (content, path, io.BytesIO(content)):
            with pytest.raises(ValidationError, match="1 MB"):
                await client.faces.add("g1", pic=source)
    assert requests == []


async def test_picture_just_under_the_limit_is_sent(harness: Any) -> None:
    content = JPEG + bytes(MB - 4096)
    async with harness.client() as (client, requests):
        await client.faces.add("g1", pic=content)
    (request,) = requests
    assert len(request.content) <= MB
    assert picture_part(request)[2] == content


async def test_huge_file_is_refused_without_reading_it_all(harness: Any, tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as stream:
        stream.write(JPEG)
        stream.truncate(2 * 1024 * MB)  # sparse: 2 GB on paper
    async with harness.client() as (client, requests):
        with pytest.raises(ValidationError, match="1 MB"):
            await client.faces.add("g1", pic=path)
    assert requests == []


class BrokenStream(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise PermissionError(13, "Permission denied")


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("/nonexistent/dir/face.jpg", id="missing-path"),
        pytest.param(Path("/nonexistent/face.jpg"), id="missing-pathlib"),
        pytest.param(Path("/"), id="directory"),
        pytest.param("/proc/self/mem", id="unreadable-eio"),
        pytest.param("x" * 5000, id="name-too-long"),
        pytest.param("/9j/4AAQSkZJRgABAQAAAQABAAD", id="base64-text-not-a-path"),
        pytest.param(BrokenStream(), id="permission-denied-stream"),
        pytest.param(io.StringIO("text mode"), id="text-mode-stream"),
        pytest.param(None, id="none"),
        pytest.param(12345, id="int"),
        pytest.param([JPEG], id="list"),
    ],
)
async def test_unreadable_sources_are_refused_unsent(harness: Any, source: object) -> None:
    async with harness.client() as (client, requests):
        with pytest.raises(ValidationError) as caught:
            await client.faces.add("g1", pic=source)  # type: ignore[arg-type]
    assert caught.value.field == "pic"
    assert requests == []


async def test_file_object_is_read_from_its_position(harness: Any) -> None:
    stream = io.BytesIO(b"header-to-skip" + JPEG)
    stream.seek(len(b"header-to-skip"))
    async with harness.client() as (client, requests):
        await client.faces.add("g1", pic=stream)
    assert picture_part(requests[0])[2] == JPEG
