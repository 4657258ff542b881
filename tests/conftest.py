"""Suite-wide options: ``--full`` runs the slow suites (soak, crash/resume) at full size."""

from __future__ import annotations

import pytest


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
