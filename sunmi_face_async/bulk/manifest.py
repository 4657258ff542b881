"""Manifest readers: a directory of pictures, a CSV file or a JSON Lines file.

Each reader yields ``FaceUpload`` items, and a ``ManifestError(line, message)`` for each bad
row instead of stopping: the job reports it and goes on with the others. Files are read
lazily, one row at a time, so a manifest of millions of rows costs no memory.

Columns (CSV header / JSONL keys); only ``picture`` is required, and ``group_id`` or
``group`` when no default is given:

- ``group_id``: the target group.
- ``group``: the target group by name instead, looked up in the row's store when the job
  runs (``group_id`` wins when a row gives both).
- ``sunmi_shop_no``: the row's store (empty: the client's own store), so one manifest can
  cover a whole chain.
- ``picture``: the picture's path, relative to the manifest's directory unless absolute.
- ``name``, ``gender`` (0/1/2 or unknown/male/female), ``age_range`` (1 to 8; 0 or empty:
  unset, as the exports write it).
- ``customer_value1`` .. ``customer_value5`` (JSONL may give ``customer_values`` as a list).
- ``external_key``: the caller's stable id for the face (used by the journal and
  reconciliation).

In a CSV cell, a leading ``'`` before ``=``, ``+``, ``-``, ``@``, a tab or a line break is
the spreadsheet's mark for text, not part of the value: ``'=x`` reads as ``=x`` (what
``export --format manifest`` writes for it) and ``''=x`` as ``'=x``. Any other leading ``'``
(``'t Hooft``) is kept. JSON Lines values are taken exactly.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..files import NotRegularFile, file_kind, open_regular, shown
from ..models import CUSTOM_SLOTS, AgeRange, Gender
from ..pictures import PictureSource
from ._manifest_files import MAX_LINE_BYTES, bad_text, binary_lines, first_bad_text

__all__ = [
    "PICTURE_SUFFIXES",
    "FaceUpload",
    "ManifestError",
    "read_csv",
    "read_directory",
    "read_jsonl",
    "read_manifest",
]

PICTURE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
_GENDERS = {"unknown": Gender.UNKNOWN, "male": Gender.MALE, "female": Gender.FEMALE}
#: The columns the readers use; each may appear once in a CSV header.
_COLUMNS = (
    "group_id",
    "group",
    "sunmi_shop_no",
    "picture",
    "name",
    "gender",
    "age_range",
    "external_key",
    *(f"customer_value{slot}" for slot in range(1, CUSTOM_SLOTS + 1)),
)


def _to_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class FaceUpload:
    """One face to enroll. ``pic`` is a path or the picture's bytes; ``line`` is the
    manifest line it came from, if any, and ``source`` the manifest's name.

    ``sunmi_shop_no`` names the store (None: the client's); ``group`` names the group by
    name, and an empty ``group_id`` means the job looks it up in that store."""

    group_id: str
    pic: PictureSource = attrs.field(repr=False)
    name: str | None = None
    gender: Gender | int | None = None
    age_range: AgeRange | int | None = None
    customer_values: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    external_key: str | None = None
    line: int | None = attrs.field(default=None, eq=False)
    sunmi_shop_no: str | None = None
    group: str | None = None
    source: str = attrs.field(default="", eq=False, repr=False)


@attrs.frozen
class ManifestError:
    """A manifest row that could not be read; the job reports it as INVALID."""

    line: int
    message: str
    source: str = ""
    #: The row's store, when the error is about it (chain manifests).
    sunmi_shop_no: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:" if self.source else "line "
        return f"{where}{self.line}: {self.message}"


def read_manifest(
    path: str | os.PathLike[str], *, group_id: str | None = None
) -> Iterator[FaceUpload | ManifestError]:
    """Read a directory, a ``.csv`` or a ``.jsonl`` manifest (chosen by what ``path`` is).

    Raises ``ValueError`` for an unknown type or a manifest that is not a regular file (a
    FIFO would block), ``OSError`` when it cannot be found or looked at.
    """
    path = Path(path)
    if path.is_dir():
        if group_id is None:
            raise ValueError("a directory manifest needs group_id")
        return read_directory(path, group_id=group_id)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, group_id=group_id)
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, group_id=group_id)
    raise ValueError(f"unknown manifest type {suffix!r}: use a directory, .csv or .jsonl")


def read_directory(
    path: str | os.PathLike[str], *, group_id: str
) -> Iterator[FaceUpload | ManifestError]:
    """One face per picture file (sorted by file name); the name is the file name's stem.

    Every entry with a picture suffix is listed, so one that is not a regular file (a FIFO,
    a broken link, a folder) is reported INVALID when it is loaded instead of vanishing. A
    file name that is not UTF-8 is a ``ManifestError`` whose ``line`` is the entry's place
    in the sorted listing.
    """
    root = Path(path)
    with os.scandir(root) as entries:
        names = sorted(e.name for e in entries if Path(e.name).suffix.lower() in PICTURE_SUFFIXES)
    for position, name in enumerate(names, start=1):
        why = bad_text(name, fix="rename the file")
        if why is not None:
            yield ManifestError(position, f"file name: {why}", shown(root / name))
            continue
        yield FaceUpload(group_id=group_id, pic=root / name, name=Path(name).stem)


def read_csv(
    path: str | os.PathLike[str], *, group_id: str | None = None
) -> Iterator[FaceUpload | ManifestError]:
    """Rows of a CSV file with a header line; line numbers count the header as line 1.

    A row spanning several lines (a quoted value with line breaks) is numbered by its
    first line. A UTF-8 BOM is allowed; a row holding bytes that are not UTF-8 is a
    ``ManifestError`` and the other rows go on.
    """
    path = Path(path)
    _check_regular(path)
    return _csv_rows(path, group_id)


def read_jsonl(
    path: str | os.PathLike[str], *, group_id: str | None = None
) -> Iterator[FaceUpload | ManifestError]:
    """One JSON object per line; blank lines are skipped.

    A UTF-8 BOM is allowed; a line that is not UTF-8, or over ``MAX_LINE_BYTES``, is a
    ``ManifestError`` and the other lines go on.
    """
    path = Path(path)
    _check_regular(path)
    return _jsonl_rows(path, group_id)


def _check_regular(path: Path) -> None:
    """Refuse a manifest that is not a regular file before anything opens it."""
    kind = file_kind(path)
    if kind is not None:
        raise NotRegularFile(path, kind)


def _csv_rows(path: Path, group_id: str | None) -> Iterator[FaceUpload | ManifestError]:
    source = shown(path)
    with (
        open_regular(path) as raw,
        io.TextIOWrapper(raw, "utf-8-sig", errors="surrogateescape", newline="") as stream,
    ):
        # strict: an unclosed quote is an error at its row, not the rest of the file
        # silently read as one value (so every later row lost).
        reader = csv.reader(stream, strict=True)
        try:
            header = next(reader, [])
        except csv.Error as exc:
            yield ManifestError(1, f"header: bad CSV: {exc}", source)
            return
        problem = _header_problem(header)
        if problem is not None:
            yield ManifestError(1, problem, source)
            return
        while True:
            first = reader.line_num + 1  # a quoted value may span lines: report the first
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield ManifestError(first, _csv_problem(exc), source)
                continue
            if not record:
                continue  # a blank line
            if len(record) > len(header):
                extra = f"{len(record)} fields, more than the {len(header)} the header names"
                yield ManifestError(first, extra, source)
                continue
            # missing trailing fields: unset
            row = dict(zip(header, (_unquoted(cell) for cell in record), strict=False))
            why = first_bad_text(row.items())
            if why is not None:
                yield ManifestError(first, why, source)
                continue
            yield _upload(row, first, path, group_id)


#: What a spreadsheet runs as a formula when a cell starts with it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _unquoted(cell: str) -> str:
    """A CSV cell as text: a leading ``'`` before a formula character (or before more
    quotes and one) marks a value kept from running as a formula, and is not part of it;
    the manifest writer adds exactly one (``'=x`` is ``=x``, ``''=x`` is ``'=x``)."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START):
        return cell[1:]
    return cell


def _csv_problem(exc: csv.Error) -> str:
    if str(exc) == "unexpected end of data":
        return "bad CSV: a quote opened on this line is never closed"
    return f"bad CSV: {exc}"


def _header_problem(header: list[str]) -> str | None:
    for name in header:
        why = bad_text(name)
        if why is not None:
            return f"header: {why}"
    if "picture" not in header:
        return "the header must name a 'picture' column"
    for name in _COLUMNS:
        if header.count(name) > 1:
            return f"header: the column {name!r} appears {header.count(name)} times"
    return None


def _jsonl_rows(path: Path, group_id: str | None) -> Iterator[FaceUpload | ManifestError]:
    source = shown(path)
    with open_regular(path) as stream:
        for line, chunk in enumerate(binary_lines(stream), start=1):
            if chunk is None:
                yield ManifestError(line, f"the line is over {MAX_LINE_BYTES:,} bytes", source)
                continue
            entry = _json_row(chunk)
            if isinstance(entry, str):
                yield ManifestError(line, entry, source)
            elif entry is not None:
                yield _upload(entry, line, path, group_id)


def _json_row(chunk: bytes) -> dict[str, Any] | str | None:
    """The line's object, None for a blank line, else why it cannot be read."""
    try:
        text, bad_byte = chunk.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        # Decode anyway to tell which field holds the bad byte.
        text, bad_byte = chunk.decode("utf-8", "surrogateescape"), exc
    if not text.strip():
        return None
    try:
        row = json.loads(text)
    except ValueError as exc:
        if bad_byte is not None:
            column = bad_byte.start + 1
            byte = chunk[bad_byte.start]
            return f"not UTF-8 text: byte 0x{byte:02x} at column {column}; save the file as UTF-8"
        return f"bad JSON: {exc}"
    if not isinstance(row, dict):
        return "each line must be a JSON object"
    escaped = bad_byte is not None
    for key in row:
        why = bad_text(key, escaped_bytes=escaped)
        if why is not None:
            return f"a key: {why}"
    return first_bad_text(row.items(), escaped_bytes=escaped) or row


def _upload(
    row: Mapping[str, Any], line: int, path: Path, default_group: str | None
) -> FaceUpload | ManifestError:
    try:
        return _parse_row(row, line, path, default_group)
    except ValueError as exc:
        return ManifestError(line, str(exc), shown(path))


def _text(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{column} must be text")
    return str(value)


def _parse_row(
    row: Mapping[str, Any], line: int, path: Path, default_group: str | None
) -> FaceUpload:
    base = path.parent
    named = _text(row, "group")
    group = _text(row, "group_id") or ("" if named else default_group)
    if group is None or (not group and not named):
        raise ValueError("group_id is missing (no group_id or group value and no default)")
    picture = _text(row, "picture")
    if not picture:
        raise ValueError("picture is missing")
    pic_path = Path(picture)
    if not pic_path.is_absolute():
        pic_path = base / pic_path
    return FaceUpload(
        group_id=group,
        pic=pic_path,
        name=_text(row, "name"),
        gender=_gender(row.get("gender")),
        age_range=_age_range(row.get("age_range")),
        customer_values=_customer_values(row),
        external_key=_text(row, "external_key"),
        line=line,
        sunmi_shop_no=_text(row, "sunmi_shop_no"),
        group=named,
        source=shown(path),
    )


def _gender(value: object) -> Gender | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in _GENDERS:
        return _GENDERS[value.strip().lower()]
    accepted = f"gender must be 0, 1, 2, unknown, male or female, not {value!r}"
    try:
        number = _int(value, "gender")
    except ValueError:
        raise ValueError(accepted) from None
    if not Gender.is_known(number):
        raise ValueError(accepted)
    return Gender(number)


def _age_range(value: object) -> AgeRange | None:
    if value is None or value == "":
        return None
    number = _int(value, "age_range")
    if number == 0:
        return None  # unset: what the exports write for a face without one
    if not AgeRange.is_known(number):
        raise ValueError(f"age_range must be 0 (unset) or 1 to 8, not {value!r}")
    return AgeRange(number)


def _int(value: object, column: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{column} must be a number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"{column} must be a number, not {value!r}") from None


def _customer_values(row: Mapping[str, Any]) -> tuple[str, ...]:
    listed = row.get("customer_values")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
            raise ValueError("customer_values must be a list of strings")
        if len(listed) > CUSTOM_SLOTS:
            raise ValueError(f"customer_values holds at most {CUSTOM_SLOTS} values")
        return tuple(listed)
    values = [_text(row, f"customer_value{slot}") or "" for slot in range(1, CUSTOM_SLOTS + 1)]
    while values and not values[-1]:
        values.pop()
    return tuple(values)
