"""Manifest text: bounded lines, and bad bytes told apart from text row by row.

Text is decoded with ``surrogateescape``: a byte that is not UTF-8 (a Latin-1 ``é`` from a
spreadsheet) becomes a lone surrogate that the reader finds and reports on its own row,
instead of aborting the whole file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import BinaryIO

__all__ = [
    "MAX_LINE_BYTES",
    "bad_text",
    "binary_lines",
    "first_bad_text",
]

#: A JSON Lines row longer than this is refused (a face's row takes well under 2 KB).
MAX_LINE_BYTES = 1024 * 1024

_ESCAPED = range(0xDC80, 0xDD00)  # surrogateescape's stand-ins for the bytes 0x80..0xFF


def binary_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes | None]:
    """Each line of ``stream`` (a UTF-8 BOM at the start dropped), None for a line over
    ``limit`` bytes, which is skipped without being held in memory."""
    first = True
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        too_long = len(chunk) > limit and not chunk.endswith(b"\n")
        if first and chunk.startswith(codecs.BOM_UTF8):
            chunk = chunk[len(codecs.BOM_UTF8) :]
        first = False
        if too_long:
            while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield chunk


def bad_text(
    value: str, *, escaped_bytes: bool = True, fix: str = "save the file as UTF-8"
) -> str | None:
    """Why ``value`` is not text, or None when it is.

    A lone surrogate in the escaped range stands for a byte that was not UTF-8 when
    ``escaped_bytes`` (the text was decoded with ``surrogateescape``); any other lone
    surrogate (a JSON ``\\ud83d`` escape, say) cannot be sent either.
    """
    for index, char in enumerate(value):
        code = ord(char)
        if not 0xD800 <= code <= 0xDFFF:
            continue
        before = value[max(0, index - 20) : index]
        where = f"after {before!r}" if before else "at the start"
        if escaped_bytes and code in _ESCAPED:
            return f"not UTF-8 text: byte 0x{code - 0xDC00:02x} {where}; {fix}"
        return f"holds a lone surrogate (U+{code:04X}) {where}, which is not text"
    return None


def first_bad_text(
    fields: Iterable[tuple[str, object]], *, escaped_bytes: bool = True
) -> str | None:
    """``field: why`` for the first value (strings, or lists of them) that is not text."""
    for field, value in fields:
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and (why := bad_text(item, escaped_bytes=escaped_bytes)):
                return f"{field}: {why}"
    return None
