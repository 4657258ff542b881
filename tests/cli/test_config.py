"""Settings come from flags, then the environment; the key never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunmi_face_async.cli._config import (
    PRODUCTION_URL,
    UAT_URL,
    ConfigFlags,
    Settings,
    read_key_file,
    resolve_settings,
)
from sunmi_face_async.cli._exits import EXIT_USAGE, CliError

ENV = {"SUNMI_APP_ID": "ENVAPP", "SUNMI_APP_KEY": "env-secret-key", "SUNMI_SHOP_NO": "100"}


def test_environment_alone_is_enough() -> None:
    settings = resolve_settings(ConfigFlags(), ENV)
    assert (settings.app_id, settings.app_key, settings.shop_no) == (
        "ENVAPP",
        "env-secret-key",
        "100",
    )
    assert settings.base_url == PRODUCTION_URL


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("file-secret\n")
    flags = ConfigFlags(app_id="FLAGAPP", app_key_file=str(key_file), shop_no="200", uat=True)
    settings = resolve_settings(flags, ENV)
    assert (settings.app_id, settings.app_key, settings.shop_no) == (
        "FLAGAPP",
        "file-secret",
        "200",
    )
    assert settings.base_url == UAT_URL


def test_base_url_from_environment_loses_its_trailing_slash() -> None:
    settings = resolve_settings(
        ConfigFlags(), {**ENV, "SUNMI_BASE_URL": "http://127.0.0.1:9/openapi/"}
    )
    assert settings.base_url == "http://127.0.0.1:9/openapi"


@pytest.mark.parametrize(
    ("env", "flags", "message"),
    [
        ({}, ConfigFlags(), "no app id"),
        ({"SUNMI_APP_ID": "A", "SUNMI_APP_KEY": "k"}, ConfigFlags(), "no store"),
        ({"SUNMI_APP_ID": "A", "SUNMI_SHOP_NO": "1"}, ConfigFlags(), "no app key"),
        (ENV, ConfigFlags(uat=True, base_url="http://x"), "cannot be used together"),
        (ENV, ConfigFlags(base_url="ftp://x"), "must start with http"),
        (ENV, ConfigFlags(app_key_file="/nonexistent/key"), "cannot read the app key file"),
    ],
)
def test_missing_or_wrong_settings_are_usage_errors(
    env: dict[str, str], flags: ConfigFlags, message: str
) -> None:
    with pytest.raises(CliError, match=message) as caught:
        resolve_settings(flags, env)
    assert caught.value.exit_code == EXIT_USAGE


def test_empty_key_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "key"
    empty.write_text("  \n")
    with pytest.raises(CliError, match="is empty"):
        read_key_file(str(empty))


def test_key_file_dash_reads_stdin() -> None:
    assert read_key_file("-", stdin_reader=lambda: "piped-key\n") == "piped-key"


def test_key_from_a_prompt() -> None:
    flags = ConfigFlags(ask_key=True)
    env = {k: v for k, v in ENV.items() if k != "SUNMI_APP_KEY"}
    assert resolve_settings(flags, env, prompt=lambda: "typed-key").app_key == "typed-key"


def test_key_file_named_in_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-env-file")
    env = {"SUNMI_APP_ID": "A", "SUNMI_SHOP_NO": "1", "SUNMI_APP_KEY_FILE": str(key_file)}
    assert resolve_settings(ConfigFlags(), env).app_key == "from-env-file"


def test_repr_and_describe_mask_the_key() -> None:
    settings = Settings(app_id="A", app_key="very-secret-value", shop_no="1")
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in settings.describe()
    assert "app_key=****" in settings.describe()
