"""Small truths of ``enroll``'s output: an invalid row says ``invalid:``, the rate counts
only the items worked on (not those an earlier run did), and a printed resume command runs
from any directory."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, fake, run

__all__ = ["fake"]


def test_an_invalid_row_is_called_invalid(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 1)
    manifest = tmp_path / "faces.csv"
    manifest.write_text("picture,name,gender\npics/face-00000.png,Ann,robot\n", encoding="utf-8")
    result = run(["enroll", "faces.csv", "--group", "regular", "--no-journal"], fake, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "invalid: line 2 (faces.csv): gender must be" in result.stderr
    assert "failed: line 2" not in result.stderr


def _last_progress(stderr: str) -> re.Match[str]:
    lines = [m for m in re.finditer(r"^enroll: .*$", stderr, re.M)]
    assert lines, stderr
    pattern = (
        r"enroll: (\d+)/\d+ \((\d+) done, (\d+) skipped, \d+ failed\) ([\d.]+)/s, elapsed ([\d.]+)s"
    )
    match = re.match(pattern, lines[-1].group(0))
    assert match, lines[-1].group(0)
    return match


def test_the_rate_leaves_out_items_an_earlier_run_did(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 40)
    first = ["enroll", "pics", "--group", "W", "--create-group", "--journal", "j.sqlite"]
    assert run(first, fake, tmp_path).returncode == 0
    write_faces(tmp_path / "pics", 4, start=40)  # four new pictures for the resumed run
    fake.set_faults(latency=0.25)
    again = ["enroll", "pics", "--group", "W", "--journal", "j.sqlite", "--resume"]
    resumed = run([*again, "--concurrency", "1"], fake, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    match = _last_progress(resumed.stderr)
    finished, done, skipped = int(match[1]), int(match[2]), int(match[3])
    rate, elapsed = float(match[4]), float(match[5])
    assert (finished, done, skipped) == (44, 4, 40)
    # Four uploads one at a time at 0.25 s each: about 4/s (before: 44 items counted, ~40/s).
    assert rate <= 4 / max(elapsed - 0.1, 0.5) + 0.5, match[0]


def test_a_printed_resume_command_runs_from_another_directory(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 3)
    first = ["enroll", "pics", "--group", "Z", "--create-group", "--journal", "rel.sqlite"]
    assert run(first, fake, tmp_path).returncode == 0
    refused = run(first, fake, tmp_path)  # the journal holds a run: it prints the command
    assert refused.returncode == 2
    printed = re.search(r"run: (sunmi-face .*?--resume[^;]*);", refused.stderr)
    assert printed, refused.stderr
    command = shlex.split(printed[1])
    journal = command[command.index("--journal") + 1]
    assert Path(journal).is_absolute(), printed[1]
    assert Path(journal) == (tmp_path / "rel.sqlite").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = run(command[1:], fake, elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert not list(elsewhere.iterdir())  # no new journal there
