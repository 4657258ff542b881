"""What ``ManifestWriter`` writes, ``read_manifest`` reads back exactly: commas, quotes, line
breaks, unicode, empty custom values, and cells that start like a spreadsheet formula (the
CSV writer makes them inert with a leading ``'``; the reader takes that ``'`` off again)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sunmi_face_async.bulk import FaceUpload, ManifestWriter, read_manifest
from sunmi_face_async.models import AgeRange, Face, Gender

TRICKY = [
    "plain",
    "Doe, Jane",
    'say "hi"',
    "two\nlines",
    "Zoë 王小明 🙂",
    "=SUM(A1:A9)",
    "+31 20 555",
    "-007",
    "@handle",
    "\ttabbed",
    "'=already quoted",
    "''=twice",
    "'t Hooft",
    "'",
    " padded ",
]


def _faces() -> list[Face]:
    return [
        Face(
            face_id=str(100 + i),
            group_id="7",
            name=name,
            gender=Gender.FEMALE if i % 2 else None,
            age_range=AgeRange(3) if i % 3 == 0 else None,
            customer_values=(f"key-{i}" if i % 4 else name, "", name, "", ""),
        )
        for i, name in enumerate(TRICKY)
    ]


def _read_back(tmp_path: Path, suffix: str, raw: bool = False) -> list[FaceUpload]:
    out = io.StringIO(newline="")
    writer = ManifestWriter(
        out,
        picture_template="pics/{face_id}.jpg",
        external_key_slot=1,
        jsonl=suffix == ".jsonl",
        raw=raw,
    )
    for face in _faces():
        writer.write(face, sunmi_shop_no="S2", group="VIP, 'north'")
    path = tmp_path / f"m{suffix}"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    rows = list(read_manifest(path))
    assert all(isinstance(row, FaceUpload) for row in rows), rows
    return [row for row in rows if isinstance(row, FaceUpload)]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_every_value_reads_back_as_written(tmp_path: Path, suffix: str) -> None:
    rows = _read_back(tmp_path, suffix)
    assert len(rows) == len(TRICKY)
    for i, (row, name) in enumerate(zip(rows, TRICKY, strict=True)):
        assert row.name == name
        assert row.external_key == (f"key-{i}" if i % 4 else name)
        # trailing empty slots are dropped; an empty one in the middle stays empty
        assert row.customer_values == (row.external_key, "", name)
        assert row.gender == (Gender.FEMALE if i % 2 else None)
        assert row.age_range == (AgeRange(3) if i % 3 == 0 else None)
        assert row.sunmi_shop_no == "S2"
        assert row.group == "VIP, 'north'"
        assert row.pic == tmp_path / "pics" / f"{100 + i}.jpg"


def test_csv_cells_that_start_like_a_formula_are_inert_in_the_file(tmp_path: Path) -> None:
    _read_back(tmp_path, ".csv")
    text = (tmp_path / "m.csv").read_text(encoding="utf-8")
    for cell in ("'=SUM(A1:A9)", "'+31 20 555", "'-007", "'@handle", "'\ttabbed"):
        assert cell in text
    # a value that already starts with quotes before a formula character gets one more,
    # so reading back takes exactly one off; other leading quotes are left alone
    assert "'''=twice" in text
    assert "''=already quoted" in text
    assert ",'t Hooft," in text


def test_raw_csv_writes_formulas_as_they_are_and_still_reads_back(tmp_path: Path) -> None:
    rows = _read_back(tmp_path, ".csv", raw=True)
    assert [row.name for row in rows] == TRICKY
    text = (tmp_path / "m.csv").read_text(encoding="utf-8")
    assert ",=SUM(A1:A9)," in text
    assert ",-007," in text
    assert ",''=already quoted," in text
    assert ",'t Hooft," in text
