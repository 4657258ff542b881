"""Manifest readers: directory, CSV and JSONL, bad rows reported with their line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sunmi_face_async.bulk import (
    FaceUpload,
    ManifestError,
    read_csv,
    read_directory,
    read_jsonl,
    read_manifest,
)
from sunmi_face_async.models import AgeRange, Gender

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60


def test_a_directory_gives_one_face_per_picture_named_after_the_file(tmp_path: Path) -> None:
    for name in ("Zoe Wang.jpg", "adam.PNG", "notes.txt", "bob.bmp"):
        (tmp_path / name).write_bytes(JPEG)
    (tmp_path / "sub.jpg").mkdir()  # listed: loading it reports "a directory" (INVALID)
    uploads = list(read_directory(tmp_path, group_id="g1"))
    assert all(isinstance(u, FaceUpload) for u in uploads)
    assert [(u.name, u.group_id) for u in uploads] == [  # type: ignore[union-attr]
        ("Zoe Wang", "g1"),
        ("adam", "g1"),
        ("bob", "g1"),
        ("sub", "g1"),
    ]
    assert uploads[0].pic == tmp_path / "Zoe Wang.jpg"  # type: ignore[union-attr]


def test_csv_rows_with_documented_columns_and_bad_rows_with_line_numbers(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.csv"
    manifest.write_text(
        "group_id,picture,name,gender,age_range,customer_value1,customer_value2,external_key\n"
        "g1,a.jpg,Mike,male,4,gold,,emp-1\n"
        "g1,,NoPicture,,,,,\n"
        "g2,/abs/b.jpg,Ann,2,9,,,\n"
        ",c.jpg,Default,0,,,x,emp-3\n"
        'g1,"d.jpg",Too,1,1,,,,extra\n',
        encoding="utf-8",
    )
    rows = list(read_csv(manifest, group_id="gd"))
    assert rows[0] == FaceUpload(
        group_id="g1",
        pic=tmp_path / "a.jpg",
        name="Mike",
        gender=Gender.MALE,
        age_range=AgeRange.AGE_19_28,
        customer_values=("gold",),
        external_key="emp-1",
    )
    assert rows[0].line == 2
    assert isinstance(rows[1], ManifestError)
    assert (rows[1].line, rows[1].message, rows[1].source) == (
        3,
        "picture is missing",
        str(manifest),
    )
    assert isinstance(rows[2], ManifestError)
    assert rows[2].line == 4
    assert "age_range" in rows[2].message
    assert rows[3] == FaceUpload(
        group_id="gd",
        pic=tmp_path / "c.jpg",
        name="Default",
        gender=Gender.UNKNOWN,
        customer_values=("", "x"),
        external_key="emp-3",
    )
    assert isinstance(rows[4], ManifestError)
    assert rows[4].line == 6


def test_csv_without_a_picture_column_is_one_error(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.csv"
    manifest.write_text("group_id,name\ng1,x\n", encoding="utf-8")
    [error] = list(read_csv(manifest))
    assert isinstance(error, ManifestError)
    assert error.line == 1


def test_jsonl_rows_and_bad_lines(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.jsonl"
    lines = [
        json.dumps({"group_id": "g1", "picture": "a.jpg", "customer_values": ["a", "b"]}),
        "",
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"group_id": "g1", "picture": "b.jpg", "gender": "robot"}),
        json.dumps({"picture": "c.jpg", "name": "NoGroup"}),
        json.dumps({"group_id": "g1", "picture": "d.jpg", "customer_values": ["1"] * 6}),
        json.dumps({"group_id": "g1", "picture": "e.jpg", "external_key": 42, "age_range": 8}),
    ]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_jsonl(manifest))
    assert isinstance(rows[0], FaceUpload)
    assert rows[0].customer_values == ("a", "b")
    errors = [(r.line, type(r).__name__) for r in rows if isinstance(r, ManifestError)]
    assert errors == [
        (3, "ManifestError"),
        (4, "ManifestError"),
        (5, "ManifestError"),
        (6, "ManifestError"),
        (7, "ManifestError"),
    ]
    last = rows[-1]
    assert isinstance(last, FaceUpload)
    assert (last.external_key, last.age_range, last.line) == ("42", AgeRange.AGE_56_PLUS, 8)


def test_read_manifest_dispatches_on_what_the_path_is(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(JPEG)
    (tmp_path / "m.csv").write_text("picture\na.jpg\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text('{"picture": "a.jpg"}\n', encoding="utf-8")
    assert [u.name for u in read_manifest(tmp_path, group_id="g")] == ["a"]
    assert [u.group_id for u in read_manifest(tmp_path / "m.csv", group_id="g")] == ["g"]
    assert [u.group_id for u in read_manifest(tmp_path / "m.jsonl", group_id="g")] == ["g"]
    with pytest.raises(ValueError, match="unknown manifest"):
        read_manifest(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="group_id"):
        read_manifest(tmp_path)
