"""The client's transport comes from the invocation's State, not from a module global."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sunmi_face_async.cli import _runtime, cli
from sunmi_face_async.cli._runtime import State
from sunmi_face_async.testing import IN_PROCESS_BASE_URL, FakeSunmiCloud


def _env(cloud: FakeSunmiCloud) -> dict[str, str]:
    return {
        "SUNMI_APP_ID": cloud.app_id,
        "SUNMI_APP_KEY": cloud.app_key,
        "SUNMI_SHOP_NO": cloud.shop_no,
        "SUNMI_BASE_URL": IN_PROCESS_BASE_URL,
        "SUNMI_APP_KEY_FILE": "",
    }


def test_each_invocation_talks_to_the_fake_its_state_names() -> None:
    first, second = FakeSunmiCloud(seed=1), FakeSunmiCloud(seed=2)
    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["groups", "create", "OnlyInFirst"],
        env=_env(first),
        obj=State(transport_factory=first.transport),
    )
    assert created.exit_code == 0, created.output
    names = {}
    for label, cloud in (("first", first), ("second", second)):
        listed = runner.invoke(
            cli,
            ["--json", "groups", "list"],
            env=_env(cloud),
            obj=State(transport_factory=cloud.transport),
        )
        assert listed.exit_code == 0, listed.output
        names[label] = {group["name"] for group in json.loads(listed.stdout)}
    assert "OnlyInFirst" in names["first"]
    assert "OnlyInFirst" not in names["second"]


def test_the_runtime_has_no_module_level_transport_hook() -> None:
    assert not hasattr(_runtime, "transport_factory")
    assert State().transport_factory is None
