"""The threat suites are selectable by marker: ``-m hostile`` collects only tests/hostile,
``-m "not soak and not crash"`` everything but those two (a child pytest collects each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:randomly"]
# One small module from each kind of folder, so each child run collects quickly.
SAMPLE = {
    "hostile": "tests/hostile/test_pictures.py",
    "secrets": "tests/secrets/test_tls.py",
    "crash": "tests/crash/test_settle_follows_client_timeout.py",
    "soak": "tests/soak/test_reconcile_listing_failure.py",
    "core": "tests/core/test_attempt.py",
}


def collected_folders(expression: str) -> list[str]:
    """The folder under tests/ of every test a child pytest collects with ``-m expression``."""
    child = subprocess.run(
        [*PYTEST, "--collect-only", "-q", "-m", expression, *SAMPLE.values()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stdout + child.stderr
    ids = [line for line in child.stdout.splitlines() if "::" in line]
    return [Path(node.split("::")[0]).parts[1] for node in ids]


@pytest.mark.parametrize("suite", ["hostile", "secrets", "crash", "soak"])
def test_a_suite_marker_selects_exactly_its_folder(suite: str) -> None:
    folders = collected_folders(suite)
    assert folders, f"-m {suite} collected nothing"
    assert set(folders) == {suite}


def test_leaving_out_soak_and_crash_keeps_everything_else() -> None:
    assert set(collected_folders("not soak and not crash")) == {"hostile", "secrets", "core"}
