"""The canary app_key never shows in the CLI's output (``--debug`` included) or the journal."""

from __future__ import annotations

import json
import sqlite3
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sunmi_face_async import RetryPolicy
from sunmi_face_async.bulk import FaceUpload, enroll
from sunmi_face_async.cli import cli
from sunmi_face_async.cli._runtime import State
from sunmi_face_async.testing import IN_PROCESS_BASE_URL, FakeSunmiCloud, Faults

CANARY = "CANARY-7f3a9c51e2-app-key"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)


def run_cli(cloud: FakeSunmiCloud, args: Sequence[str], **env: str) -> Result:
    environment = {
        "SUNMI_APP_ID": cloud.app_id,
        "SUNMI_APP_KEY": CANARY,
        "SUNMI_SHOP_NO": cloud.shop_no,
        "SUNMI_BASE_URL": IN_PROCESS_BASE_URL,
        "SUNMI_APP_KEY_FILE": "",
        **env,
    }
    state = State(transport_factory=cloud.transport)
    return CliRunner().invoke(cli, list(args), env=environment, obj=state)


def scan_result(scanner: Any, result: Result, label: str) -> None:
    """The output, and the locals of the package's frames in the exception chain.

    (Frames of the test harness, such as CliRunner.invoke, hold the env the test passed.)
    """
    scanner.add(f"{label} output", result.output)
    if result.exc_info is None:
        return
    pending = [traceback.TracebackException(*result.exc_info, capture_locals=True)]
    while pending:
        exc = pending.pop()
        scanner.add(f"{label} exception", "".join(exc.format_exception_only()))
        for frame in exc.stack:
            if "/sunmi_face_async/" in frame.filename:
                scanner.add(f"{label} locals of {frame.name}", repr(frame.locals))
        pending += [e for e in (exc.__cause__, exc.__context__) if e is not None]


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(6):
        (folder / f"person{i}.png").write_bytes(PNG + bytes([i]) * 10)
    (folder / "broken.png").write_bytes(b"not a picture")
    return folder


def test_cli_commands_with_debug_never_print_the_key(
    scanner: Any, pictures: Path, tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level("DEBUG")
    cloud = FakeSunmiCloud(app_key=CANARY, faults=Faults(error_rates={5000: 0.2}), seed=5)
    journal = tmp_path / "journal.sqlite"
    commands = [
        ["--debug", "groups", "list"],
        ["--debug", "groups", "create", "VIP", "--key", "level"],
        ["--debug", "faces", "add", str(pictures / "person0.png"), "--group", "VIP"],
        ["--debug", "enroll", str(pictures), "--group", "VIP", "--journal", str(journal)],
        ["--debug", "export", "--group", "VIP"],
        ["--debug", "--json", "groups", "show", "no-such-group"],
        ["--debug", "faces", "show", "999999"],
        ["--debug", "faces", "add", str(pictures / "broken.png"), "--group", "VIP"],
    ]
    exit_codes = []
    for args in commands:
        result = run_cli(cloud, args)
        exit_codes.append(result.exit_code)
        scan_result(scanner, result, " ".join(args[1:3]))
    assert exit_codes[:3] == [0, 0, 0]
    assert any(code != 0 for code in exit_codes[5:])
    # --debug printed tracebacks, and they were scanned with the rest of the output.
    assert any("Traceback" in text for where, text in scanner.texts if "output" in where)
    for path in tmp_path.glob("journal.sqlite*"):
        scanner.add(f"raw {path.name}", path.read_bytes().decode("latin-1"))
    scanner.add_records(caplog.records)
    scanner.assert_clean()


def test_cli_with_a_rejected_key_does_not_print_it(scanner: Any, tmp_path: Path) -> None:
    cloud = FakeSunmiCloud(app_key="the-real-key-0000", auth_failure="http401")
    key_file = tmp_path / "key.txt"
    key_file.write_text(CANARY + "\n")
    results = [
        run_cli(cloud, ["--debug", "groups", "list"]),
        run_cli(cloud, ["--debug", "--json", "groups", "list"]),
        run_cli(cloud, ["--debug", "--app-key-file", str(key_file), "groups", "list"],
                SUNMI_APP_KEY=""),
        CliRunner().invoke(
            cli,
            ["--debug", "--ask-key", "groups", "list"],
            input=CANARY + "\n",
            obj=State(transport_factory=cloud.transport),
            env={"SUNMI_APP_ID": cloud.app_id, "SUNMI_APP_KEY": "", "SUNMI_APP_KEY_FILE": "",
                 "SUNMI_SHOP_NO": cloud.shop_no, "SUNMI_BASE_URL": IN_PROCESS_BASE_URL},
        ),
    ]  # fmt: skip
    for index, result in enumerate(results):
        assert result.exit_code != 0
        scan_result(scanner, result, f"rejected key #{index}")
    scanner.assert_clean()


async def test_journal_and_report_never_hold_the_key(scanner: Any, tmp_path: Path) -> None:
    faults = Faults(error_rates={5000: 0.2, 503: 0.1}, commit_then_timeout_rate=0.1)
    cloud = FakeSunmiCloud(app_key=CANARY, faults=faults, seed=11)
    journal = tmp_path / "journal.sqlite"

    async def no_sleep(seconds: float) -> None:
        return None

    async with cloud.client(retry=RetryPolicy(sleep=no_sleep)) as client:
        group = await client.groups.create("journal")
        uploads = [
            FaceUpload(group_id=group.group_id, pic=PNG + bytes([i]) * 8, name=f"p{i}")
            for i in range(40)
        ]
        uploads.append(FaceUpload(group_id=group.group_id, pic=b"broken", name="bad"))
        report = await enroll(client, uploads, journal=journal, concurrency=4).run()
    scanner.add("report", json.dumps(report.as_dict(), default=str))
    assert report.as_dict()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("journal.sqlite")]
    for path in files:
        scanner.add(f"raw {path.name}", path.read_bytes().decode("latin-1"))
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT * FROM items").fetchall()
    db.close()
    assert len(rows) >= 40
    scanner.add("journal rows", repr(rows))
    scanner.assert_clean()
