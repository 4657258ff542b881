"""Manifests as careless hands and other programs write them: bytes that are not UTF-8 (a
Latin-1 ``é`` from a spreadsheet), a BOM, quoted values over several lines, endless lines,
and the library's own exports read back in. A bad row is INVALID at its (first) line, naming
its file and field; every other row goes on; one result per row."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import anyio
import pytest

from sunmi_face_async.bulk import (
    FaceUpload,
    ManifestError,
    Outcome,
    enroll,
    export_faces,
    read_csv,
    read_directory,
    read_jsonl,
    read_manifest,
    write_csv,
    write_jsonl,
)
from sunmi_face_async.models import AgeRange
from sunmi_face_async.testing import FakeSunmiCloud

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
BOM = b"\xef\xbb\xbf"


def pictures(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(JPEG + name.encode() + bytes(64))


async def enroll_all(manifest: Path) -> tuple[list[tuple[int | None, Outcome, str]], list[str]]:
    """Enroll for real into a fresh fake group: (line, outcome, error) by line, and the
    names the server holds."""
    cloud = FakeSunmiCloud(seed=9)
    async with cloud.client() as client:
        group = await client.groups.create("people", capacity=100)
        with anyio.fail_after(30):
            job = enroll(client, read_manifest(manifest, group_id=group.group_id))
            results = [(r.line, r.outcome, r.error or "") async for r in job]
        names = sorted(face.name for face in cloud.faces_in(group.group_id))
    return sorted(results, key=lambda r: r[0] or 0), names


async def test_a_latin1_byte_on_line_3_of_a_csv_is_that_row_only(tmp_path: Path) -> None:
    pictures(tmp_path, "a.jpg", "b.jpg", "c.jpg")
    manifest = tmp_path / "faces.csv"
    manifest.write_bytes(
        BOM + b"picture,name\n"
        b"a.jpg,Zo\xc3\xab\n"  # UTF-8
        b"b.jpg,Jos\xe9\n"  # Latin-1
        b"c.jpg,Carl\n"
    )
    results, names = await enroll_all(manifest)
    assert results == [
        (2, Outcome.DONE, ""),
        (3, Outcome.INVALID, "name: not UTF-8 text: byte 0xe9 after 'Jos'; save the file as UTF-8"),
        (4, Outcome.DONE, ""),
    ]
    assert names == ["Carl", "Zoë"]
    [bad] = [r for r in read_csv(manifest, group_id="g") if isinstance(r, ManifestError)]
    assert str(bad) == (
        f"{manifest}:3: name: not UTF-8 text: byte 0xe9 after 'Jos'; save the file as UTF-8"
    )


async def test_a_latin1_byte_on_line_3_of_a_jsonl_is_that_row_only(tmp_path: Path) -> None:
    pictures(tmp_path, "a.jpg", "b.jpg", "c.jpg", "d.jpg")
    manifest = tmp_path / "faces.jsonl"
    manifest.write_bytes(
        BOM + b'{"picture": "a.jpg", "name": "Zo\xc3\xab"}\n'
        b'{"picture": "b.jpg", "name": "Bo"}\n'
        b'{"picture": "c.jpg", "name": "Jos\xe9"}\n'
        b'{"picture": "d.jpg", "name": "Dan"}\n'
    )
    results, names = await enroll_all(manifest)
    assert results == [
        (1, Outcome.DONE, ""),
        (2, Outcome.DONE, ""),
        (3, Outcome.INVALID, "name: not UTF-8 text: byte 0xe9 after 'Jos'; save the file as UTF-8"),
        (4, Outcome.DONE, ""),
    ]
    assert names == ["Bo", "Dan", "Zoë"]
    [bad] = [r for r in read_jsonl(manifest, group_id="g") if isinstance(r, ManifestError)]
    assert (bad.line, bad.source) == (3, str(manifest))


def test_bad_bytes_outside_a_jsonl_string_and_lone_surrogate_escapes(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.jsonl"
    manifest.write_bytes(
        b'{"picture": "a.jpg"}\xff\n'  # after the object: the JSON itself breaks
        b'{"picture": "b.jpg", "name": "\\udce9"}\n'  # valid UTF-8, but not text
        b'{"picture": "c.jpg"}\n'
    )
    rows = list(read_jsonl(manifest, group_id="g"))
    assert [(r.line, r.message) for r in rows if isinstance(r, ManifestError)] == [
        (1, "not UTF-8 text: byte 0xff at column 21; save the file as UTF-8"),
        (2, "name: holds a lone surrogate (U+DCE9) at the start, which is not text"),
    ]
    assert [r.line for r in rows if isinstance(r, FaceUpload)] == [3]


def test_a_latin1_byte_in_the_csv_header_is_one_error_at_line_1(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.csv"
    manifest.write_bytes(b"picture,pr\xe9nom\na.jpg,Ann\n")
    assert [(r.line, r.message) for r in read_csv(manifest)] == [  # type: ignore[union-attr]
        (1, "header: not UTF-8 text: byte 0xe9 after 'pr'; save the file as UTF-8")
    ]


def test_a_quoted_row_over_several_lines_is_reported_at_its_first_line(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.csv"
    manifest.write_text(
        "picture,name,age_range\n"  # 1
        "a.jpg,Ann,\n"  # 2
        'b.jpg,"Bob\nthe second\nline",9\n'  # 3 to 5: bad age_range
        'c.jpg,"Carl\nBrown",\n'  # 6 to 7: fine
        "\n"  # 8: blank
        "d.jpg,Dee,\n",  # 9
        encoding="utf-8",
    )
    rows = list(read_csv(manifest, group_id="g"))
    assert [(type(r).__name__, r.line) for r in rows] == [
        ("FaceUpload", 2),
        ("ManifestError", 3),
        ("FaceUpload", 6),
        ("FaceUpload", 9),
    ]
    assert str(rows[1]) == f"{manifest}:3: age_range must be 0 (unset) or 1 to 8, not '9'"
    assert isinstance(rows[2], FaceUpload)
    assert rows[2].name == "Carl\nBrown"


def test_an_unclosed_quote_is_an_error_at_its_line_not_a_silent_swallow(tmp_path: Path) -> None:
    manifest = tmp_path / "faces.csv"
    manifest.write_text(
        'picture,name\na.jpg,Ann\nb.jpg,"Bob\nc.jpg,Carl\nd.jpg,Dee\n', encoding="utf-8"
    )
    rows = list(read_csv(manifest, group_id="g"))
    assert [(type(r).__name__, r.line) for r in rows] == [("FaceUpload", 2), ("ManifestError", 3)]
    assert str(rows[1]) == f"{manifest}:3: bad CSV: a quote opened on this line is never closed"


def test_a_jsonl_line_over_the_limit_is_refused_and_the_next_line_keeps_its_number(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "faces.jsonl"
    with manifest.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"picture": "a.jpg"}) + "\n")
        out.write(json.dumps({"picture": "b.jpg", "name": "x" * 3_000_000}) + "\n")
        out.write(json.dumps({"picture": "c.jpg"}) + "\n")
    rows = list(read_jsonl(manifest, group_id="g"))
    assert [(type(r).__name__, r.line) for r in rows] == [
        ("FaceUpload", 1),
        ("ManifestError", 2),
        ("FaceUpload", 3),
    ]
    assert rows[1].message == "the line is over 1,048,576 bytes"  # type: ignore[union-attr]


def test_age_range_0_is_read_as_unset(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("picture,age_range\na.jpg,0\nb.jpg,8\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(
        '{"picture": "a.jpg", "age_range": 0}\n{"picture": "b.jpg", "age_range": "0"}\n',
        encoding="utf-8",
    )
    from_csv = list(read_csv(tmp_path / "m.csv", group_id="g"))
    from_jsonl = list(read_jsonl(tmp_path / "m.jsonl", group_id="g"))
    assert [getattr(r, "age_range", r) for r in from_csv] == [None, AgeRange.AGE_56_PLUS]
    assert [getattr(r, "age_range", r) for r in from_jsonl] == [None, None]


@pytest.mark.parametrize("form", ["jsonl", "csv"])
async def test_an_export_with_unset_age_ranges_reads_back_in(tmp_path: Path, form: str) -> None:
    """What the library writes out, it takes back: export, add a picture per face, enroll."""
    cloud = FakeSunmiCloud(seed=3)
    async with cloud.client() as client:
        source = await client.groups.create("source", capacity=100)
        await client.faces.add(source.group_id, pic=JPEG + b"1" + bytes(64), name="Unset")
        await client.faces.add(
            source.group_id, pic=JPEG + b"2" + bytes(64), name="Set", age_range=4
        )
        exported = io.StringIO()
        faces = export_faces(client, source.group_id)
        await (write_jsonl if form == "jsonl" else write_csv)(faces, exported)
        assert ",0," in exported.getvalue() or '"age_range": 0' in exported.getvalue()
        manifest = tmp_path / f"back.{form}"
        manifest.write_text(_with_pictures(exported.getvalue(), form, tmp_path), encoding="utf-8")
        rows = list(read_manifest(manifest))
        assert not [r for r in rows if isinstance(r, ManifestError)], rows
        assert sorted((r.name, r.age_range) for r in rows) == [  # type: ignore[union-attr]
            ("Set", AgeRange.AGE_19_28),
            ("Unset", None),
        ]
        target = await client.groups.create("target", capacity=100)
        rows = [attrs_evolve_group(r, target.group_id) for r in rows]
        report = await enroll(client, rows).run()
        assert report.counts[Outcome.DONE] == 2


def attrs_evolve_group(row: object, group_id: str) -> FaceUpload:
    import attrs

    assert isinstance(row, FaceUpload)
    return attrs.evolve(row, group_id=group_id)


def _with_pictures(text: str, form: str, folder: Path) -> str:
    """The exported rows, each given a picture file of its own."""
    out = io.StringIO()
    if form == "jsonl":
        for i, line in enumerate(text.splitlines()):
            row = json.loads(line)
            (folder / f"{i}.jpg").write_bytes(JPEG + bytes([i]) * 64)
            out.write(json.dumps({**row, "picture": f"{i}.jpg"}) + "\n")
        return out.getvalue()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames is not None
    writer = csv.DictWriter(out, [*reader.fieldnames, "picture"])
    writer.writeheader()
    for i, row in enumerate(reader):
        (folder / f"{i}.jpg").write_bytes(JPEG + bytes([i]) * 64)
        writer.writerow({**row, "picture": f"{i}.jpg"})
    return out.getvalue()


def test_a_directory_entry_whose_name_is_not_utf8_is_invalid_naming_it(tmp_path: Path) -> None:
    pictures(tmp_path, "ann.jpg")
    fd = os.open(os.fsencode(tmp_path) + b"/Jos\xe9.jpg", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, JPEG + bytes(64))
    os.close(fd)
    rows = list(read_directory(tmp_path, group_id="g"))
    assert [type(r).__name__ for r in rows] == ["ManifestError", "FaceUpload"]
    assert str(rows[0]) == (
        f"{tmp_path}/Jos\\xe9.jpg:1: file name: not UTF-8 text: byte 0xe9 after 'Jos'; "
        "rename the file"
    )
