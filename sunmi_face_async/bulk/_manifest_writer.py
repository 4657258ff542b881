"""Exports that ``enroll`` and ``sync`` read back: manifest rows, one per face.

The API never returns a face's picture, so the ``picture`` column comes from a template over
the face's fields (``pics/{external_key}.jpg``): the pictures' source of truth is the user's
own archive. A row names its store (``sunmi_shop_no``) and its group by name (``group``),
which is what a manifest needs to be enrolled into another store: group ids belong to one
store, names carry over (``copy_structure`` makes them exist there).
"""

from __future__ import annotations

import csv
import json
import os
import string
from collections.abc import AsyncIterable, Iterable, Mapping
from contextlib import ExitStack
from typing import TextIO

from ..models import CUSTOM_SLOTS, Face
from .manifest import FORMULA_START

__all__ = [
    "MANIFEST_COLUMNS",
    "PICTURE_FIELDS",
    "ManifestWriter",
    "check_picture_template",
    "write_manifest",
]

#: The columns of an exported manifest, in order (what the manifest readers take).
MANIFEST_COLUMNS = (
    "sunmi_shop_no",
    "group",
    "picture",
    "external_key",
    "name",
    "gender",
    "age_range",
    *(f"customer_value{slot}" for slot in range(1, CUSTOM_SLOTS + 1)),
)
#: The fields a picture template may name.
PICTURE_FIELDS = ("external_key", "face_id", "group", "group_id", "sunmi_shop_no", "name")


def check_picture_template(template: str) -> str:
    """``template`` if it is a usable picture template, else ``ValueError`` saying why.

    Only plain ``{field}`` names of ``PICTURE_FIELDS`` are allowed (no attribute or index
    access, no conversion), and at least one, so each face gets its own picture.
    """
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"picture template {template!r}: {exc}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PICTURE_FIELDS or spec or conversion:
            known = ", ".join("{" + name + "}" for name in PICTURE_FIELDS)
            shown = "{" + field + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise ValueError(
                f"picture template {template!r}: unknown field {shown}; the fields are {known}"
            )
        names.append(field)
    if not names:
        raise ValueError(
            f"picture template {template!r} names no field: every face would get the same "
            "picture (use e.g. 'pics/{external_key}.jpg')"
        )
    return template


def _path_part(field: str, value: str, face: Face) -> str:
    """A field's value as part of a path: refused if it would leave its place in the path."""
    if not value:
        raise ValueError(
            f"face {face.face_id}: the picture template needs {{{field}}}, which is empty "
            "for this face: give it one, or use a field every face has, such as {face_id}"
        )
    if "/" in value or "\\" in value or "\x00" in value or value in (".", ".."):
        raise ValueError(
            f"face {face.face_id}: {{{field}}} is {value!r}, which cannot be part of a "
            "picture path (it holds a path separator)"
        )
    return value


class ManifestWriter:
    """Writes manifest rows to ``stream``: CSV (header first) or JSON Lines.

    CSV cells a spreadsheet would run as formulas get a leading ``'`` unless ``raw``, and
    the manifest readers take it off again (``read_csv``), so every value reads back as
    written; JSON Lines keep every value exact.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        picture_template: str,
        external_key_slot: int | None = None,
        jsonl: bool = False,
        raw: bool = False,
    ) -> None:
        if external_key_slot is not None and not 1 <= external_key_slot <= CUSTOM_SLOTS:
            raise ValueError(f"external_key_slot must be 1 to {CUSTOM_SLOTS}")
        self._template = check_picture_template(picture_template)
        self._slot = external_key_slot
        self._jsonl = jsonl
        self._raw = raw
        self._stream = stream
        self._csv = None if jsonl else csv.writer(stream)
        if self._csv is not None:
            self._csv.writerow(MANIFEST_COLUMNS)
        self.count = 0

    def row(self, face: Face, *, sunmi_shop_no: str | None, group: str) -> dict[str, str]:
        """The manifest row of ``face`` (``group`` is its group's name)."""
        key = face.customer_value(self._slot) if self._slot is not None else ""
        fields = {
            "external_key": key,
            "face_id": face.face_id,
            "group": group,
            "group_id": face.group_id or "",
            "sunmi_shop_no": sunmi_shop_no or "",
            "name": face.name,
        }
        wanted = {f for _, f, _, _ in string.Formatter().parse(self._template) if f}
        values = {name: _path_part(name, fields[name], face) for name in wanted}
        custom = list(face.customer_values) + [""] * (CUSTOM_SLOTS - len(face.customer_values))
        row = {
            "sunmi_shop_no": sunmi_shop_no or "",
            "group": group,
            "picture": self._template.format_map(values),
            "external_key": key,
            "name": face.name,
            "gender": "" if face.gender is None else str(int(face.gender)),
            "age_range": "" if face.age_range is None else str(int(face.age_range)),
        }
        for slot, value in enumerate(custom[:CUSTOM_SLOTS], start=1):
            row[f"customer_value{slot}"] = value
        return row

    def write(self, face: Face, *, sunmi_shop_no: str | None, group: str) -> None:
        row = self.row(face, sunmi_shop_no=sunmi_shop_no, group=group)
        if self._csv is None:
            kept = {k: v for k, v in row.items() if v != ""}
            self._stream.write(json.dumps(kept, ensure_ascii=False) + "\n")
        else:
            cell = _quoted if self._raw else _inert
            self._csv.writerow([cell(row[column]) for column in MANIFEST_COLUMNS])
        self.count += 1


def _inert(text: str) -> str:
    """A cell a spreadsheet shows as text: ``'`` before a formula character, and before a
    value whose leading quotes precede one (the reader takes exactly one off)."""
    return "'" + text if text.lstrip("'").startswith(FORMULA_START) else text


def _quoted(text: str) -> str:
    """``raw``: formulas as they are, but a value that starts with quotes before a formula
    character still gets one more, so it reads back as itself."""
    return "'" + text if text.startswith("'") and _inert(text) != text else text


async def write_manifest(
    faces: AsyncIterable[Face] | Iterable[Face],
    dest: str | os.PathLike[str] | TextIO,
    *,
    picture_template: str,
    group_names: Mapping[str, str],
    sunmi_shop_no: str | None = None,
    external_key_slot: int | None = None,
    jsonl: bool = False,
    raw: bool = False,
) -> int:
    """Write ``faces`` (of one store) as a manifest ``enroll`` and ``sync`` read back.

    ``group_names`` maps each face's ``group_id`` to its group's name (the ``group``
    column); ``external_key_slot`` says which custom value is the external key;
    ``picture_template`` fills the ``picture`` column (see ``check_picture_template``). A path is
    written beside and renamed into place when complete (whole or absent). Returns how
    many faces were written; a ``ValueError`` names the first face that cannot be written.
    """
    from .export import _each, _open

    with ExitStack() as stack:
        out = _open(dest, stack)
        writer = ManifestWriter(
            out,
            picture_template=picture_template,
            external_key_slot=external_key_slot,
            jsonl=jsonl,
            raw=raw,
        )
        async for face in _each(faces):
            group = group_names.get(face.group_id or "", face.group_name)
            writer.write(face, sunmi_shop_no=sunmi_shop_no, group=group)
    return writer.count
