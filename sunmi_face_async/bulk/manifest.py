"""Manifest readers: a directory of pictures, a CSV file or a JSON Lines file.

Each reader yields ``FaceUpload`` items, and a ``ManifestError(line, message)`` for each bad
row instead of stopping: the job reports it and goes on with the others. Files are read
lazily, one row at a time, so a manifest of millions of rows costs no memory.

Columns (CSV header / JSONL keys); only ``picture`` is required, and ``group_id`` when no
default is given:

- ``group_id``: the target group.
- ``picture``: the picture's path, relative to the manifest's directory unless absolute.
- ``name``, ``gender`` (0/1/2 or unknown/male/female), ``age_range`` (1 to 8).
- ``customer_value1`` .. ``customer_value5`` (JSONL may give ``customer_values`` as a list).
- ``external_key``: the caller's stable id for the face (used by the journal and
  reconciliation).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..models import AgeRange, Gender
from ..pictures import PictureSource

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
_SLOTS = 5


def _to_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class FaceUpload:
    """One face to enroll. ``pic`` is a path or the picture's bytes; ``line`` is the
    manifest line it came from, if any."""

    group_id: str
    pic: PictureSource = attrs.field(repr=False)
    name: str | None = None
    gender: Gender | int | None = None
    age_range: AgeRange | int | None = None
    customer_values: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    external_key: str | None = None
    line: int | None = attrs.field(default=None, eq=False)


@attrs.frozen
class ManifestError:
    """A manifest row that could not be read; the job reports it as INVALID."""

    line: int
    message: str
    source: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:" if self.source else "line "
        return f"{where}{self.line}: {self.message}"


def read_manifest(
    path: str | os.PathLike[str], *, group_id: str | None = None
) -> Iterator[FaceUpload | ManifestError]:
    """Read a directory, a ``.csv`` or a ``.jsonl`` manifest (chosen by what ``path`` is)."""
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


def read_directory(path: str | os.PathLike[str], *, group_id: str) -> Iterator[FaceUpload]:
    """One face per picture file (sorted by file name); the name is the file name's stem."""
    root = Path(path)
    names = sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_file() and Path(entry.name).suffix.lower() in PICTURE_SUFFIXES
    )
    for name in names:
        yield FaceUpload(group_id=group_id, pic=root / name, name=Path(name).stem)


def read_csv(
    path: str | os.PathLike[str], *, group_id: str | None = None
) -> Iterator[FaceUpload | ManifestError]:
    """Rows of a CSV file with a header line; line numbers count the header as line 1."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        if reader.fieldnames is None or "picture" not in reader.fieldnames:
            yield ManifestError(1, "the header must name a 'picture' column", str(path))
            return
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield ManifestError(reader.line_num, f"bad CSV: {exc}", str(path))
                continue
            line = reader.line_num
            if None in row:
                yield ManifestError(line, "more fields than the header names", str(path))
                continue
            yield _upload(row, line, path, group_id)


def read_jsonl(
    path: str | os.PathLike[str], *, group_id: str | None = None
) -> Iterator[FaceUpload | ManifestError]:
    """One JSON object per line; blank lines are skipped."""
    path = Path(path)
    with path.open(encoding="utf-8-sig") as stream:
        for line, text in enumerate(stream, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                yield ManifestError(line, f"bad JSON: {exc}", str(path))
                continue
            if not isinstance(row, dict):
                yield ManifestError(line, "each line must be a JSON object", str(path))
                continue
            yield _upload(row, line, path, group_id)


def _upload(
    row: Mapping[str, Any], line: int, path: Path, default_group: str | None
) -> FaceUpload | ManifestError:
    try:
        return _parse_row(row, line, path.parent, default_group)
    except ValueError as exc:
        return ManifestError(line, str(exc), str(path))


def _text(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{column} must be text")
    return str(value)


def _parse_row(
    row: Mapping[str, Any], line: int, base: Path, default_group: str | None
) -> FaceUpload:
    group = _text(row, "group_id") or default_group
    if not group:
        raise ValueError("group_id is missing (no column value and no default)")
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
    )


def _gender(value: object) -> Gender | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in _GENDERS:
        return _GENDERS[value.strip().lower()]
    number = _int(value, "gender")
    if not Gender.is_known(number):
        raise ValueError(f"gender must be 0, 1, 2, unknown, male or female, not {value!r}")
    return Gender(number)


def _age_range(value: object) -> AgeRange | None:
    if value is None or value == "":
        return None
    number = _int(value, "age_range")
    if not AgeRange.is_known(number):
        raise ValueError(f"age_range must be 1 to 8, not {value!r}")
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
        if len(listed) > _SLOTS:
            raise ValueError("customer_values holds at most 5 values")
        return tuple(listed)
    values = [_text(row, f"customer_value{slot}") or "" for slot in range(1, _SLOTS + 1)]
    while values and not values[-1]:
        values.pop()
    return tuple(values)
