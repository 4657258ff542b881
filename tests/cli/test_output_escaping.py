"""What reaches a terminal is escaped; what goes to a file or a pipe is the exact data.

Export files keep the data: JSON Lines exact, CSV with formula cells neutralised (OWASP: a
cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a leading ``'``). JSON Lines
written to a terminal, on stdout or as ``--output`` a terminal device, show control and
bidi characters as ``\\uXXXX`` escapes (the same JSON values). A server message holding a
newline cannot split a ``--debug`` traceback line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, drain, fake, run, run_pty

__all__ = ["fake"]

LF_FORMULA = '\n=HYPERLINK("http://x")'
BIDI = "abc\u202edef"


@pytest.fixture
def hostile(fake: Fake, tmp_path: Path) -> Fake:
    """Group ``H`` with two faces: one named ``LF_FORMULA``, one ``BIDI``."""
    write_faces(tmp_path / "pics", 2)
    pictures = sorted((tmp_path / "pics").iterdir())
    manifest = tmp_path / "m.jsonl"
    rows = [
        {"picture": f"pics/{pictures[0].name}", "name": LF_FORMULA},
        {"picture": f"pics/{pictures[1].name}", "name": BIDI},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = run(
        ["enroll", "m.jsonl", "--group", "H", "--create-group", "--no-journal"], fake, tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert sorted(f["name"] for f in fake.faces_in("H")) == sorted([LF_FORMULA, BIDI])
    return fake


def test_csv_neutralises_a_cell_starting_with_a_line_feed(hostile: Fake, tmp_path: Path) -> None:
    result = run(
        ["export", "--group", "H", "--format", "csv", "--output", "h.csv"], hostile, tmp_path
    )
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "h.csv", encoding="utf-8", newline="") as handle:
        names = sorted(row["name"] for row in csv.DictReader(handle))
    assert names == sorted(["'" + LF_FORMULA, BIDI])
    raw = ["export", "--group", "H", "--format", "csv", "--csv-raw", "--output", "raw.csv"]
    assert run(raw, hostile, tmp_path).returncode == 0
    with open(tmp_path / "raw.csv", encoding="utf-8", newline="") as handle:
        assert sorted(r["name"] for r in csv.DictReader(handle)) == sorted([LF_FORMULA, BIDI])


def test_jsonl_to_a_pipe_or_a_file_is_exact(hostile: Fake, tmp_path: Path) -> None:
    piped = run(["export", "--group", "H"], hostile, tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert "\u202e" in piped.stdout  # the exact data for a program
    assert sorted(json.loads(line)["name"] for line in io.StringIO(piped.stdout)) == sorted(
        [LF_FORMULA, BIDI]
    )
    assert run(["export", "--group", "H", "--output", "h.jsonl"], hostile, tmp_path).returncode == 0
    assert "\u202e" in (tmp_path / "h.jsonl").read_text(encoding="utf-8")


def test_jsonl_on_a_terminal_stdout_is_escaped(hostile: Fake, tmp_path: Path) -> None:
    shown = run_pty(["export", "--group", "H"], hostile, tmp_path)
    assert shown.returncode == 0, shown.screen
    assert "\u202e" not in shown.screen
    assert "abc\\u202edef" in shown.screen


def test_jsonl_to_a_terminal_device_given_as_output_is_escaped(
    hostile: Fake, tmp_path: Path
) -> None:
    master, slave = os.openpty()
    try:
        result = run(["export", "--group", "H", "--output", os.ttyname(slave)], hostile, tmp_path)
        os.close(slave)
        written = drain(master)
    finally:
        os.close(master)
    assert result.returncode == 0, result.stderr
    screen = written.decode()
    assert "\u202e" not in screen
    assert "abc\\u202edef" in screen
    names = sorted(json.loads(line)["name"] for line in screen.splitlines() if line.strip())
    assert names == sorted([LF_FORMULA, BIDI])  # the same values, escaped


def test_a_newline_in_a_server_message_cannot_split_the_debug_traceback(
    fake: Fake, tmp_path: Path
) -> None:
    # The fake echoes the face id in its "not found" message, as a server may echo input.
    shown = run_pty(["faces", "show", "123\nFORGED: injected line", "--debug"], fake, tmp_path)
    assert shown.returncode == 1, shown.screen
    lines = shown.screen.splitlines()
    assert not [line for line in lines if line.startswith("FORGED")], shown.screen
    assert "face 123\\nFORGED: injected line not found" in shown.screen
    assert "Traceback (most recent call last):" in shown.screen
