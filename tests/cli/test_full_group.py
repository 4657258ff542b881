"""Issue 11 case 3: a full target group (5520) stops the move instead of hammering it.

``faces move --all`` into a group with room for fewer faces than it is given moves what fits,
then stops sending: the rest is reported once, with the command that makes room.
"""

from __future__ import annotations

import json
from pathlib import Path

from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, fake, run

__all__ = ["fake"]

MOVE = "/face/group/move"


def _source_and_target(fake: Fake, tmp_path: Path, faces: int, room: int) -> None:
    write_faces(tmp_path / "pics", faces)
    assert run(["groups", "create", "Src", "--capacity", "1000"], fake, tmp_path).returncode == 0
    assert (
        run(["groups", "create", "Near", "--capacity", str(room)], fake, tmp_path).returncode == 0
    )
    enrolled = run(["enroll", "pics", "--group", "Src", "--concurrency", "16"], fake, tmp_path)
    assert enrolled.returncode == 0, enrolled.stderr


def test_a_full_target_stops_the_move_and_names_the_fix_once(fake: Fake, tmp_path: Path) -> None:
    _source_and_target(fake, tmp_path, faces=300, room=253)
    fake.reset_stats()
    moved = run(["faces", "move", "--from", "Src", "--to", "Near", "--all"], fake, tmp_path)

    assert moved.returncode == 1, moved.stderr
    assert len(fake.faces_in("Near")) == 253, "everything that fits was moved"
    assert len(fake.faces_in("Src")) == 47
    assert "moved 253 of 300 faces from Src to Near; 47 failed" in moved.stdout
    full_lines = [line for line in moved.stderr.splitlines() if "code 5520" in line]
    assert len(full_lines) == 1, moved.stderr
    assert full_lines[0].startswith("failed: 47 faces (")
    assert "sunmi-face groups update Near --capacity 300" in moved.stderr
    # Finding the room by halving costs a few requests, not one per face (99 before).
    assert fake.requests(MOVE) <= 15, fake.requests(MOVE)


def test_a_group_with_no_room_gets_a_handful_of_requests(fake: Fake, tmp_path: Path) -> None:
    _source_and_target(fake, tmp_path, faces=400, room=1)
    run(["faces", "move", "--from", "Src", "--to", "Near", "--all"], fake, tmp_path)
    fake.reset_stats()
    # Near now holds 1 of 1: not one of the remaining 399 fits.
    moved = run(
        ["faces", "move", "--from", "Src", "--to", "Near", "--all", "--json"], fake, tmp_path
    )
    assert moved.returncode == 1, moved.stderr
    assert len(fake.faces_in("Src")) == 399
    report = json.loads(moved.stdout)
    assert (report["done"], report["failed"]) == (0, 399)
    assert all("code 5520" in f["reason"] for f in report["failures"])
    # 4 chunks of 100 go out at once; then one probe at a time halves down to a single id.
    assert fake.requests(MOVE) <= 4 + 8, fake.requests(MOVE)
