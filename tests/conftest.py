"""Suite-wide options: ``--full`` runs the slow suites (soak, crash/resume) at full size, and
the threat suites are marked by their folder, so ``pytest -m hostile`` or
``pytest -m "not soak and not crash"`` select them."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
THREAT_SUITES = ("hostile", "secrets", "crash", "soak")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="run soak and crash/resume suites at full size (slow; CI runs the small size)",
    )


@pytest.fixture
def full_size(request: pytest.FixtureRequest) -> bool:
    """True when the suite was asked for full-size runs with ``--full``."""
    return bool(request.config.getoption("--full"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/<suite>/ with the suite's marker (registered in pyproject)."""
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # collected from outside tests/
            continue
        if folder in THREAT_SUITES:
            item.add_marker(folder)
