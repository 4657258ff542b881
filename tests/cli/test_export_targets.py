"""``export --output`` to what is not a regular file: written through, never replaced.

A FIFO, a pipe given as ``/dev/fd/N`` and a character device (a terminal's) are written in
place (a rename would put a regular file where they were, and a FIFO's reader would wait); a
symlink is followed and the file it points to is replaced whole, the link staying a link;
a directory is refused with an error naming the path the user gave.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from sunmi_face_async.testing.pictures import write_faces

from ._proc import SUNMI_FACE, TIMEOUT, Fake, clean_env, drain, fake, run

__all__ = ["fake"]

FACES = 5


@pytest.fixture
def enrolled(fake: Fake, tmp_path: Path) -> Fake:
    write_faces(tmp_path / "pics", FACES)
    args = ["enroll", "pics", "--group", "Team", "--create-group", "--no-journal"]
    done = run(args, fake, tmp_path)
    assert done.returncode == 0, done.stderr
    return fake


def _export(fake: Fake, cwd: Path, output: str) -> subprocess.CompletedProcess[str]:
    return run(["export", "--group", "Team", "--output", output], fake, cwd)


def _names(jsonl: str) -> list[str]:
    return sorted(json.loads(line)["name"] for line in jsonl.splitlines())


def test_a_fifo_is_written_through_and_stays_a_fifo(enrolled: Fake, tmp_path: Path) -> None:
    fifo = tmp_path / "faces.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:  # blocks until the export opens it for writing
            got.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = _export(enrolled, tmp_path, "faces.fifo")
    reader.join(timeout=TIMEOUT)
    assert not reader.is_alive(), "the FIFO's reader never saw the end of the data"
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert len(_names(got[0].decode())) == FACES
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_pipe_given_as_dev_fd_is_written_through(enrolled: Fake, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [SUNMI_FACE, "export", "--group", "Team", "--output", f"/dev/fd/{write_end}"],
        env=clean_env(enrolled.env),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(write_end,),
        text=True,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read()
    _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert len(_names(data.decode())) == FACES
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_terminal_device_is_written_through(enrolled: Fake, tmp_path: Path) -> None:
    # A pseudo-terminal's device (/dev/pts/N) stands for every character device; the real
    # /dev/null or /dev/stdout are never a test's target.
    master, slave = os.openpty()
    device = os.ttyname(slave)
    try:
        result = _export(enrolled, tmp_path, device)
        os.close(slave)
        written = drain(master)
    finally:
        os.close(master)
    assert result.returncode == 0, result.stderr
    lines = written.decode().replace("\r\n", "\n").splitlines()
    assert len(_names("\n".join(lines))) == FACES


def test_a_symlink_is_followed_and_stays_a_link(enrolled: Fake, tmp_path: Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "faces.jsonl"
    real.write_text("old\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    result = _export(enrolled, tmp_path, "link.jsonl")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert len(_names(real.read_text(encoding="utf-8"))) == FACES
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the replaced file keeps its mode
    assert sorted(p.name for p in real_dir.iterdir()) == ["faces.jsonl"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_directory_is_refused_naming_the_users_path(enrolled: Fake, tmp_path: Path) -> None:
    (tmp_path / "outdir").mkdir()
    result = _export(enrolled, tmp_path, "outdir")
    assert result.returncode == 2, result.stderr
    assert "outdir" in result.stderr
    assert ".part" not in result.stderr
    assert "directory" in result.stderr.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outdir", "pics"]
