"""Issue 11 case 6: names from the server cannot steer the terminal or the spreadsheet.

A group and a face whose names hold an OSC title sequence, a clear-screen CSI, a bidi
override, C1 CSI, DEL, rich markup and a newline are listed, shown, quoted in errors and
exported: the terminal sees visible escapes (``\\x1b``, ``\\u202e``), never the characters;
``--json`` and JSONL decode to the exact names; CSV cells that a spreadsheet would run start
with ``'`` unless ``--csv-raw``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import anyio
import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, fake, run, run_pty

__all__ = ["fake"]

GROUP = "Evil\x1b]0;pwned\x07\x1b[2J\u202eX[bold]B\x9b7m\x7f"
FACE = "row1\nrow2\x1b[2J\u202egnp.exe"
VALUE = '=HYPERLINK("http://x")'
RAW = ("\x1b]0;pwned", "\x1b[2J", "\u202e", "\x00", "\x9b", "\x7f", "row1\nrow2")


def _seed(fake: Fake, tmp_path: Path) -> tuple[str, str]:
    """The hostile group and face, created through the API over HTTP; their ids."""
    picture = write_faces(tmp_path / "pics", 1)[0]

    async def create() -> tuple[str, str]:
        env = fake.env
        async with AsyncSunmiFace(
            env["SUNMI_APP_ID"],
            env["SUNMI_APP_KEY"],
            sunmi_shop_no=env["SUNMI_SHOP_NO"],
            base_url=env["SUNMI_BASE_URL"],
        ) as client:
            group = await client.groups.create(GROUP, capacity=10, customer_keys=["k"])
            face_id = await client.faces.add(
                group.group_id, pic=picture, name=FACE, customer_values=[VALUE]
            )
            return group.group_id, face_id

    return anyio.run(create)


def _no_raw(screen: str) -> None:
    for sequence in RAW:
        assert sequence not in screen, (sequence, screen)


@pytest.mark.parametrize(
    "args",
    [
        ["groups", "list"],
        ["faces", "list", "--group", "{group_id}"],
        ["faces", "show", "{face_id}"],
        ["groups", "show", "{group_id}"],
    ],
    ids=["groups-list", "faces-list", "faces-show", "groups-show"],
)
def test_listings_on_a_terminal_show_escapes(fake: Fake, tmp_path: Path, args: list[str]) -> None:
    group_id, face_id = _seed(fake, tmp_path)
    argv = [a.format(group_id=group_id, face_id=face_id) for a in args]
    result = run_pty(argv, fake, tmp_path)
    assert result.returncode == 0, result.screen
    _no_raw(result.screen)
    if args[0] == "groups":
        assert "Evil\\x1b]0;pwned\\x07\\x1b[2J\\u202eX[bold]B\\x9b7m\\x7f" in result.screen
    else:
        assert "row1\\nrow2\\x1b[2J\\u202egnp.exe" in result.screen  # one row, one line


def test_error_lines_quote_names_and_server_messages_escaped(fake: Fake, tmp_path: Path) -> None:
    _seed(fake, tmp_path)
    unknown = run_pty(["faces", "list", "--group", "Evil"], fake, tmp_path)
    assert unknown.returncode == 2
    assert "unknown group 'Evil'" in unknown.screen
    assert "Evil\\x1b]0;pwned" in unknown.screen  # the known groups are listed, escaped
    # The fake echoes the face id in its message: the server's text is escaped too.
    missing = run_pty(["faces", "show", "1\x1b]0;pwned\x07"], fake, tmp_path)
    assert missing.returncode == 1
    assert "face 1\\x1b]0;pwned\\x07 not found" in missing.screen
    # --debug adds the traceback, whose exception messages quote the server too.
    debug = run_pty(["--debug", "faces", "show", "1\x1b]0;pwned\x07"], fake, tmp_path)
    assert debug.returncode == 1
    assert "Traceback" in debug.screen
    _no_raw(unknown.screen + missing.screen + debug.screen)


def test_json_is_exact_and_inert(fake: Fake, tmp_path: Path) -> None:
    group_id, _ = _seed(fake, tmp_path)
    listed = run(["groups", "list", "--json"], fake, tmp_path)
    assert listed.returncode == 0, listed.stderr
    _no_raw(listed.stdout)
    assert GROUP in [g["name"] for g in json.loads(listed.stdout)]
    exported = run(["export", "--group", group_id], fake, tmp_path)
    assert exported.returncode == 0, exported.stderr
    (face,) = [json.loads(line) for line in exported.stdout.splitlines()]
    assert (face["name"], face["customer_values"]) == (FACE, [VALUE])
    assert face["group_name"] == GROUP


def test_jsonl_export_on_a_terminal_is_escaped_json(fake: Fake, tmp_path: Path) -> None:
    group_id, _ = _seed(fake, tmp_path)
    result = run_pty(["export", "--group", group_id], fake, tmp_path)
    assert result.returncode == 0, result.screen
    _no_raw(result.screen)
    start = result.screen.index('{"face_id"')  # the live bar shares the terminal
    line = result.screen[start:].split("\n", 1)[0].rstrip("\r")
    assert json.loads(line)["name"] == FACE


def test_csv_export_neutralises_formulas_unless_raw(fake: Fake, tmp_path: Path) -> None:
    group_id, _ = _seed(fake, tmp_path)
    safe = run(["export", "--group", group_id, "--format", "csv", "-o", "safe.csv"], fake, tmp_path)
    assert safe.returncode == 0, safe.stderr
    (row,) = csv.DictReader(io.StringIO((tmp_path / "safe.csv").read_text(encoding="utf-8")))
    assert row["customer_value1"] == "'" + VALUE
    assert row["name"] == FACE  # does not start with a formula character: unchanged

    raw_args = ["export", "--group", group_id, "--format", "csv", "--csv-raw", "-o", "raw.csv"]
    raw = run(raw_args, fake, tmp_path)
    assert raw.returncode == 0, raw.stderr
    (row,) = csv.DictReader(io.StringIO((tmp_path / "raw.csv").read_text(encoding="utf-8")))
    assert row["customer_value1"] == VALUE


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised(start: str) -> None:
    from sunmi_face_async.bulk import write_csv
    from sunmi_face_async.models import Face

    out = io.StringIO()
    face = Face(face_id="1", group_id="2", name=start + "1+1", customer_values=("ok",))
    assert anyio.run(write_csv, [face], out) == 1
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["name"] == "'" + start + "1+1"
    assert row["customer_value1"] == "ok"


def test_the_one_escaping_function_covers_nul_and_format_characters() -> None:
    """NUL cannot be sent through the client (it refuses it), so the server-side tests above
    cannot carry it; the table and message paths are checked here directly."""
    from rich.console import Console

    from sunmi_face_async.cli._output import Output
    from sunmi_face_async.cli._safe import safe_json, safe_text

    text = "a\x00b\u200bc\u2066d\ufeffe\u2028f\u200dg"
    assert safe_text(text) == "a\\x00b\\u200bc\\u2066d\\ufeffe\\u2028f\u200dg"  # ZWJ stays
    assert json.loads(safe_json(text)) == text
    assert all(c not in safe_json(text) for c in "\x00\u200b\u2066\ufeff\u2028")
    out, err = io.StringIO(), io.StringIO()
    output = Output(stdout=Console(file=out, width=200), stderr=Console(file=err, width=200))
    output.table(("name",), [[text]])
    output.error(f"bad {text}")
    assert "\x00" not in out.getvalue() + err.getvalue()
    assert "a\\x00b" in out.getvalue()
    assert "bad a\\x00b" in err.getvalue()
