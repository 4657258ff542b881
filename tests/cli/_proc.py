"""Real processes for the CLI tests: the installed ``sunmi-face``, the fake over HTTP, a pty.

``fake_server`` starts ``sunmi-face fake-server --port 0`` and stops it by pid; ``Fake``
gives its environment and its unsigned ``/_fake/`` admin routes (stats, faces, faults).
``run`` runs one command with pipes; ``run_pty`` runs it on a pseudo-terminal (stdin, stdout
and stderr all a tty), answering prompts when told to.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from sunmi_face_async.testing import FakeCloudServer

#: The console script the venv installed (what a user of the venv runs).
SUNMI_FACE = str(Path(sys.executable).with_name("sunmi-face"))
TIMEOUT = 60.0


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
    env.update({"COLUMNS": "200", "LINES": "50"})
    env.update(extra or {})
    return env


@attrs.frozen
class Fake:
    """A running ``sunmi-face fake-server``: its environment and its admin routes."""

    env: dict[str, str]
    admin: str

    def _get(self, path: str) -> Any:
        response = httpx.get(self.admin + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(self.admin + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def requests(self, endpoint: str) -> int:
        stats = self._get("/stats?request_times=false")
        return int(stats["requests_by_endpoint"].get(endpoint, 0))

    def reset_stats(self) -> None:
        self._post("/stats/reset", {})

    def set_faults(self, **faults: Any) -> None:
        self._post("/faults", faults)

    def groups(self) -> dict[str, dict[str, Any]]:
        """The store's groups by name."""
        return {g["group_name"]: g for g in self._get("/groups")}

    def faces_in(self, group_name: str) -> list[dict[str, Any]]:
        group_id = self.groups()[group_name]["group_id"]
        return list(self._get(f"/faces?group_id={group_id}"))


@contextlib.contextmanager
def fake_server_process(
    cwd: Path, *options: str
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """``sunmi-face fake-server --port 0 OPTIONS``: the process and the details it printed
    before ``ready``; stopped (by pid) on the way out."""
    process = subprocess.Popen(
        [SUNMI_FACE, "fake-server", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
        cwd=cwd,
    )
    try:
        assert process.stdout is not None
        details: dict[str, str] = {}
        for line in process.stdout:
            if line.strip() == "ready":
                break
            key, _, value = line.strip().partition("=")
            details[key] = value
        else:
            pytest.fail(f"fake-server exited early: {process.wait()}")
        yield process, details
    finally:
        stop(process)


def fake_env(details: dict[str, str]) -> dict[str, str]:
    """The SUNMI_* variables that point a command at the fake whose ``details`` these are."""
    return {
        "SUNMI_BASE_URL": details["base_url"],
        "SUNMI_APP_ID": details["app_id"],
        "SUNMI_APP_KEY": details["app_key"],
        "SUNMI_SHOP_NO": details["shop_no"],
    }


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Fake]:
    """``sunmi-face fake-server --port 0``, started and stopped (by pid) here."""
    with fake_server_process(tmp_path) as (_, details):
        admin = details["base_url"].rsplit("/openapi", 1)[0] + "/_fake"
        yield Fake(env=fake_env(details), admin=admin)


def spawn(argv: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start ``argv`` with stdout and stderr on pipes (text) and no stdin; stop it with ``stop``."""
    return subprocess.Popen(
        list(argv),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGINT, then SIGKILL after 10 s; close the pipes."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def run(
    args: Sequence[str], fake: Fake | None, cwd: Path, *, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``sunmi-face ARGS`` with pipes (no terminal anywhere)."""
    return run_env(args, clean_env(fake.env if fake else None), cwd, stdin=stdin)


def run_env(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    *,
    stdin: str | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``sunmi-face ARGS`` with pipes and exactly the environment ``env``."""
    return subprocess.run(
        [SUNMI_FACE, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def server_env(server: FakeCloudServer) -> dict[str, str]:
    """This process's environment without SUNMI_*, pointed at an in-process fake ``server``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNMI_")}
    env.update(
        SUNMI_APP_ID=server.app_id,
        SUNMI_APP_KEY=server.app_key,
        SUNMI_SHOP_NO=server.shop_no,
        SUNMI_BASE_URL=server.base_url,
    )
    return env


@attrs.frozen
class PtyResult:
    returncode: int
    screen: str  # everything written to the terminal (stdout and stderr), decoded


def drain(master: int, idle: float = 0.5) -> bytes:
    """What a pty's other end wrote, read from ``master`` until it is quiet for ``idle``
    seconds or closed."""
    chunks = []
    while select.select([master], [], [], idle)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def run_pty(
    args: Sequence[str],
    fake: Fake | None,
    cwd: Path,
    *,
    answer: tuple[str, str] | None = None,
) -> PtyResult:
    """``sunmi-face ARGS`` on a pseudo-terminal; ``answer=(prompt, reply)`` types ``reply``
    once ``prompt`` shows up on the screen."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [SUNMI_FACE, *args],
        env=clean_env(fake.env if fake else None),
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    answered = answer is None
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
                screen = b"".join(chunks).decode("utf-8", "replace")
                if not answered and answer is not None and answer[0] in screen:
                    os.write(master, answer[1].encode() + b"\r")
                    answered = True
            elif process.poll() is not None:
                break
        else:
            pytest.fail(f"sunmi-face {' '.join(args)} did not end within {TIMEOUT} s")
        returncode = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    return PtyResult(returncode, b"".join(chunks).decode("utf-8", "replace"))
