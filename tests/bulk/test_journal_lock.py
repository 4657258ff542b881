"""One process per journal: a second process is refused at once, naming the owner's pid;
the lock dies with its process (even by SIGKILL); creating a journal is one transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sunmi_face_async.bulk import Journal
from sunmi_face_async.bulk.journal import JournalError

# Opens the journal given as argv[1], says so, then holds it until stdin closes.
_HOLDER = """
import sys
from sunmi_face_async.bulk import Journal
journal = Journal(sys.argv[1])
journal.open()
journal.bind({"group": "G"})
print("holding", flush=True)
sys.stdin.read()
"""

# Waits for argv[2] to exist, then creates the journal argv[1] and records a job in it.
_RACER = """
import os, sys, time
from sunmi_face_async.bulk import Journal
from sunmi_face_async.bulk.journal import JournalError
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
try:
    with Journal(sys.argv[1]) as journal:
        journal.open()
        journal.bind({"group": "G"})
except JournalError as exc:
    print(exc.kind, exc, flush=True)
else:
    print("ok", flush=True)
"""


def _hold(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "holding\n"
    return holder


def test_a_second_process_is_refused_at_once_naming_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "job.sqlite"
    holder = _hold(path)
    try:
        started = time.monotonic()
        with pytest.raises(JournalError) as caught:
            Journal(path, resume=True).open()
        assert time.monotonic() - started < 5  # refused, not waited for
        assert caught.value.kind == "busy"
        assert str(caught.value) == (
            f"the journal {path} is in use by another process (pid {holder.pid})"
        )
    finally:
        holder.communicate(timeout=30)  # closes its stdin: it lets go
    with Journal(path, resume=True) as journal:  # released when the owner closed it
        assert journal.job() == ({"group": "G"}, {})


def test_the_lock_dies_with_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "job.sqlite"
    holder = _hold(path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=30)
    with Journal(path, resume=True) as journal:
        assert journal.job() == ({"group": "G"}, {})


def test_a_journal_is_locked_while_open_in_this_process_too(tmp_path: Path) -> None:
    path = tmp_path / "job.sqlite"
    with Journal(path) as first:
        first.open()
        with pytest.raises(JournalError) as caught:
            Journal(path).open()
        assert caught.value.kind == "busy"
        assert f"(pid {os.getpid()})" in str(caught.value)
    with Journal(path) as again:
        again.open()  # closed: free again


def test_processes_creating_one_journal_at_once_never_break_it(tmp_path: Path) -> None:
    for round_ in range(3):
        path, go = tmp_path / f"job{round_}.sqlite", tmp_path / f"go{round_}"
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", _RACER, str(path), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        time.sleep(1.5)  # every racer is waiting for the start
        go.touch()
        said = [racer.communicate(timeout=60) for racer in racers]
        for out, err in said:
            assert err == "", err
            assert out == "ok\n" or out.startswith("busy the journal "), out
        assert any(out == "ok\n" for out, _ in said)
        with Journal(path, resume=True) as journal:
            assert journal.job() == ({"group": "G"}, {})
