"""Face pictures: where they come from, and what the gateway will accept.

The gateway takes JPEG, PNG or BMP files, and the whole request must stay at or under
1 MB. Checking here, before sending, turns a late and vague server refusal into a
``ValidationError`` that names the problem. Reading a path or file object blocks, so the
async entry point does it in a worker thread.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, TypeAlias

import anyio.to_thread

from .errors import ValidationError
from .files import NotRegularFile, open_regular

__all__ = ["MAX_BODY_BYTES", "PictureSource", "picture_format", "read_picture", "validate_picture"]

#: The gateway's limit for a whole request body, and so for a picture.
MAX_BODY_BYTES = 1024 * 1024

PictureSource: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO"

_MAGIC = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"BM", "bmp"))


def picture_format(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or ``"bmp"`` by the file's magic bytes, else None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def validate_picture(data: bytes, field: str = "pic") -> bytes:
    """Return ``data`` if the gateway would take it, else raise ``ValidationError``."""
    if not data:
        raise ValidationError(field, "the picture is empty")
    if len(data) > MAX_BODY_BYTES:
        raise ValidationError(field, _too_big(len(data)))
    if picture_format(data) is None:
        raise ValidationError(field, "the picture is not a JPEG, PNG or BMP file")
    return data


def _too_big(size: int) -> str:
    return f"the picture is {size:,} bytes; the limit is 1 MB ({MAX_BODY_BYTES:,} bytes)"


def _remaining(stream: BinaryIO) -> int | None:
    """The bytes left in a seekable stream, without reading them (None when unknown)."""
    probe: object = stream  # a caller may pass a text stream despite the annotation
    try:
        if isinstance(probe, io.TextIOBase) or not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
    except (OSError, ValueError, AttributeError):
        return None
    return end - here


def _read_limited(stream: BinaryIO, field: str) -> bytes:
    size = _remaining(stream)
    if size is not None and size > MAX_BODY_BYTES:
        raise ValidationError(field, _too_big(size))  # the real size, not the bytes read
    data = stream.read(MAX_BODY_BYTES + 1)
    if not isinstance(data, bytes):
        raise ValidationError(field, "the file object must be opened in binary mode")
    if len(data) > MAX_BODY_BYTES:  # a stream of unknown length, or one still growing
        raise ValidationError(
            field, f"the picture is over {MAX_BODY_BYTES:,} bytes; the limit is 1 MB"
        )
    return data


def _read_source(source: object, field: str) -> bytes:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            # Never opens a FIFO, device or socket: a FIFO would block the thread for ever.
            with open_regular(path) as stream:
                return _read_limited(stream, field)
        except ValidationError:
            raise
        except NotRegularFile as exc:
            raise ValidationError(field, f"{exc.kind}, not a picture: {path}") from None
        except FileNotFoundError:
            raise ValidationError(field, f"no such file: {path}") from None
        except OSError as exc:
            raise ValidationError(field, f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:  # e.g. a NUL character in the path
            raise ValidationError(field, f"not a usable path: {exc}") from None
    if hasattr(source, "read"):
        try:
            return _read_limited(source, field)  # type: ignore[arg-type]
        except ValidationError:
            raise
        except (OSError, ValueError) as exc:  # ValueError: the file object is closed
            raise ValidationError(field, f"cannot read the file object: {exc}") from None
    raise ValidationError(
        field, f"expected bytes, a path or a binary file object, got {type(source).__name__}"
    )


def read_picture_sync(source: PictureSource, field: str = "pic") -> bytes:
    """Load and validate a picture (blocking)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return validate_picture(bytes(source), field)
    return validate_picture(_read_source(source, field), field)


async def read_picture(source: PictureSource, field: str = "pic") -> bytes:
    """Load and validate a picture; files are read in a worker thread, never on the loop."""
    if isinstance(source, bytes | bytearray | memoryview):
        return validate_picture(bytes(source), field)
    return await anyio.to_thread.run_sync(read_picture_sync, source, field)
