"""Fixtures for the CLI tests: a fake cloud wired in through the CLI's transport hook."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sunmi_face_async.cli import cli
from sunmi_face_async.cli._runtime import State
from sunmi_face_async.testing import IN_PROCESS_BASE_URL, FakeSunmiCloud

Invoke = Callable[..., Result]


@pytest.fixture
def cloud() -> FakeSunmiCloud:
    """A fresh fake; every CLI command run by ``invoke`` talks to it in-process."""
    return FakeSunmiCloud(seed=3)


@pytest.fixture
def cli_env(cloud: FakeSunmiCloud) -> dict[str, str]:
    return {
        "SUNMI_APP_ID": cloud.app_id,
        "SUNMI_APP_KEY": cloud.app_key,
        "SUNMI_SHOP_NO": cloud.shop_no,
        "SUNMI_BASE_URL": IN_PROCESS_BASE_URL,
        "SUNMI_APP_KEY_FILE": "",
    }


@pytest.fixture
def invoke(cloud: FakeSunmiCloud, cli_env: dict[str, str]) -> Invoke:
    """Run ``sunmi-face ARGS`` against ``cloud``, its credentials in the environment."""

    def run(
        args: Sequence[str], *, env: dict[str, str] | None = None, input: str | None = None
    ) -> Result:
        merged = {**cli_env, **(env or {})}
        state = State(transport_factory=cloud.transport)
        return CliRunner().invoke(cli, list(args), env=merged, input=input, obj=state)

    return run


@pytest.fixture
def bare_invoke(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run ``sunmi-face ARGS`` with no SUNMI_* variable set."""
    for name in (
        "SUNMI_APP_ID",
        "SUNMI_APP_KEY",
        "SUNMI_APP_KEY_FILE",
        "SUNMI_SHOP_NO",
        "SUNMI_SHOP_ID",
        "SUNMI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)

    def run(
        args: Sequence[str], *, env: dict[str, str] | None = None, input: str | None = None
    ) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, input=input)

    return run


def png_files(directory: Path, count: int, start: int = 0) -> list[Path]:
    from sunmi_face_async.testing.pictures import write_faces

    return write_faces(directory, count, start=start)
