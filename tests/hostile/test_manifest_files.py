"""Manifests naming things that are not picture files: FIFOs, devices, sockets, folders, broken
links, and pictures far over the limit. Each such row ends INVALID, promptly, and the others go
on; nothing blocks on a FIFO (which used to hang the job's thread and ignore Ctrl-C)."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import anyio
import pytest

from sunmi_face_async import ValidationError
from sunmi_face_async.bulk import enroll, read_manifest
from sunmi_face_async.pictures import read_picture
from sunmi_face_async.testing import FakeSunmiCloud

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
#: A job over a handful of rows ends well within this; old code blocked here for ever.
PROMPT = 6.0


@contextmanager
def fifo_writer_after(fifo: Path, seconds: float = PROMPT + 2) -> Iterator[None]:
    """Keep a test that blocks opening ``fifo`` from hanging: after ``seconds``, open its
    write end (whenever a reader waits) and close it, so the reader sees an empty file and
    the test can fail on its assertions instead."""
    stop = threading.Event()

    def release() -> None:
        if stop.wait(seconds):
            return
        while not stop.wait(0.1):
            with suppress(OSError):  # ENXIO: no reader waiting right now
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def picture(tag: bytes) -> bytes:
    return JPEG + tag + bytes(64)


async def run_job(
    manifest: Path, *, dry_run: bool
) -> tuple[list[tuple[int | None, str, str]], float]:
    """(line, outcome, error) of every result, and how long the job took."""
    cloud = FakeSunmiCloud(seed=4)
    async with cloud.client() as client:
        group = await client.groups.create("files", capacity=100)
        started = time.monotonic()
        with anyio.fail_after(30):
            job = enroll(client, read_manifest(manifest, group_id=group.group_id), dry_run=dry_run)
            results = [(r.line, r.outcome.value, r.error or "") async for r in job]
        return sorted(results, key=lambda r: r[0] or 0), time.monotonic() - started


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "enroll"])
async def test_a_row_naming_a_fifo_is_invalid_at_once_and_the_others_go_on(
    tmp_path: Path, dry_run: bool
) -> None:
    (tmp_path / "a.jpg").write_bytes(picture(b"a"))
    (tmp_path / "c.jpg").write_bytes(picture(b"c"))
    os.mkfifo(tmp_path / "pipe.jpg")
    manifest = tmp_path / "faces.csv"
    manifest.write_text("picture,name\na.jpg,Ann\npipe.jpg,Pipe\nc.jpg,Carl\n", encoding="utf-8")
    with fifo_writer_after(tmp_path / "pipe.jpg"):
        results, elapsed = await run_job(manifest, dry_run=dry_run)
    assert elapsed < PROMPT, f"the job took {elapsed:.1f} s: it blocked on the FIFO"
    ok = "checked" if dry_run else "done"
    assert [(line, outcome) for line, outcome, _ in results] == [
        (2, ok),
        (3, "invalid"),
        (4, ok),
    ]
    assert results[1][2] == f"pic: a FIFO (named pipe), not a picture: {tmp_path / 'pipe.jpg'}"


def _make_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path.name)  # relative: the test runs in tmp_path (socket paths are short)
    return sock


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.symlink("/dev/zero", p), "a character device"),
        (lambda p: os.symlink(p.parent / "nowhere.jpg", p), "a broken symbolic link"),
        (lambda p: p.mkdir(), "a directory"),
        (_make_socket, "a socket"),
    ],
    ids=["device", "broken-link", "directory", "socket"],
)
async def test_rows_naming_anything_but_a_regular_file_are_invalid_saying_what_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object, kind: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jpg").write_bytes(picture(b"a"))
    target = tmp_path / "odd.jpg"
    made = make(target)  # type: ignore[operator]
    manifest = tmp_path / "faces.csv"
    manifest.write_text("picture\nodd.jpg\na.jpg\n", encoding="utf-8")
    try:
        results, _ = await run_job(manifest, dry_run=True)
    finally:
        if isinstance(made, socket.socket):
            made.close()
    assert results == [
        (2, "invalid", f"pic: {kind}, not a picture: {target}"),
        (3, "checked", ""),
    ]


async def test_a_directory_manifest_reports_each_entry_that_is_no_picture_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "ann.jpg").write_bytes(picture(b"a"))
    os.mkfifo(folder / "pipe.jpg")
    os.symlink(folder / "gone.jpg", folder / "broken.png")
    (folder / "sub.jpg").mkdir()
    (folder / "notes.txt").write_text("not a picture, not listed", encoding="utf-8")
    with fifo_writer_after(folder / "pipe.jpg"):
        results, elapsed = await run_job(folder, dry_run=True)
    assert elapsed < PROMPT, f"the job took {elapsed:.1f} s: it blocked on the FIFO"
    assert sorted((outcome, error) for _, outcome, error in results) == [
        ("checked", ""),
        ("invalid", f"pic: a FIFO (named pipe), not a picture: {folder / 'pipe.jpg'}"),
        ("invalid", f"pic: a broken symbolic link, not a picture: {folder / 'broken.png'}"),
        ("invalid", f"pic: a directory, not a picture: {folder / 'sub.jpg'}"),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_manifest_that_is_a_fifo_is_refused_without_opening_it(
    tmp_path: Path, suffix: str
) -> None:
    fifo = tmp_path / f"faces{suffix}"
    os.mkfifo(fifo)
    started = time.monotonic()
    with fifo_writer_after(fifo), pytest.raises(ValueError, match="FIFO") as caught:
        list(read_manifest(fifo, group_id="g"))
    assert time.monotonic() - started < PROMPT
    assert str(caught.value) == f"a FIFO (named pipe), not a regular file: {fifo}"


async def test_a_fifo_swapped_in_after_the_check_does_not_block_the_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: a regular file at the check, a FIFO when it is opened."""
    import sunmi_face_async.files as files

    fifo = tmp_path / "swapped.jpg"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "file_kind", lambda path: None)
    started = time.monotonic()
    with fifo_writer_after(fifo), pytest.raises(ValidationError) as caught:
        await read_picture(fifo)
    assert time.monotonic() - started < PROMPT
    assert caught.value.problem == f"a FIFO (named pipe), not a picture: {fifo}"


SIZE = 2_457_600  # a 2.4 MB photo straight off a phone


async def test_the_size_error_names_the_real_size_of_a_row_s_picture(tmp_path: Path) -> None:
    (tmp_path / "big.jpg").write_bytes(JPEG + bytes(SIZE - len(JPEG)))
    manifest = tmp_path / "faces.csv"
    manifest.write_text("picture\nbig.jpg\n", encoding="utf-8")
    results, _ = await run_job(manifest, dry_run=True)
    assert results == [
        (2, "invalid", "pic: the picture is 2,457,600 bytes; the limit is 1 MB (1,048,576 bytes)")
    ]


@pytest.mark.parametrize("kind", ["bytes", "file-object"])
async def test_the_size_error_names_the_real_size_of_bytes_and_file_objects(kind: str) -> None:
    data = JPEG + bytes(SIZE - len(JPEG))
    source = data if kind == "bytes" else io.BytesIO(data)
    with pytest.raises(ValidationError) as caught:
        await read_picture(source)
    assert caught.value.problem == (
        "the picture is 2,457,600 bytes; the limit is 1 MB (1,048,576 bytes)"
    )


def test_the_cli_refuses_a_fifo_manifest_at_once(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sunmi_face_async.cli import cli
    from sunmi_face_async.cli._runtime import State
    from sunmi_face_async.testing import IN_PROCESS_BASE_URL

    cloud = FakeSunmiCloud(seed=4)
    env = {
        "SUNMI_APP_ID": cloud.app_id,
        "SUNMI_APP_KEY": cloud.app_key,
        "SUNMI_SHOP_NO": cloud.shop_no,
        "SUNMI_BASE_URL": IN_PROCESS_BASE_URL,
        "SUNMI_APP_KEY_FILE": "",
    }
    fifo = tmp_path / "faces.csv"
    os.mkfifo(fifo)
    args = ["enroll", str(fifo), "--group", "regular", "--dry-run", "--no-journal"]
    started = time.monotonic()
    with fifo_writer_after(fifo):
        state = State(transport_factory=cloud.transport)
        result = CliRunner().invoke(cli, args, env=env, obj=state)
    assert time.monotonic() - started < PROMPT
    assert result.exit_code == 2, result.output
    assert f"{fifo}: a FIFO (named pipe), not a manifest file" in result.stderr
