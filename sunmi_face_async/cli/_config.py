"""Where the CLI's settings come from: flags first, then the environment.

The app key is a secret: it is read from ``--app-key-file`` (``-`` for stdin), a hidden prompt
(``--ask-key``), ``SUNMI_APP_KEY`` or ``SUNMI_APP_KEY_FILE``, never from a plain flag (which
would show in the shell history and the process list), and it is never printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

import attrs

from .. import PRODUCTION_URL, UAT_URL
from ._exits import CliError

__all__ = [
    "DEFAULT_TIMEOUT",
    "PRODUCTION_URL",
    "UAT_URL",
    "ConfigFlags",
    "Settings",
    "mask",
    "read_key_file",
    "resolve_settings",
]

DEFAULT_TIMEOUT = 30.0
MASK = "****"


def mask(secret: str) -> str:
    """What the CLI shows in place of a secret, whatever the secret is."""
    return MASK if secret else "(none)"


@attrs.frozen
class ConfigFlags:
    """The global flags as given on the command line (None = not given)."""

    app_id: str | None = None
    app_key_file: str | None = None
    ask_key: bool = False
    shop_no: str | None = None
    shop_id: str | None = None
    base_url: str | None = None
    uat: bool = False
    timeout: float | None = None


@attrs.frozen
class Settings:
    """Everything needed to build a client. ``repr`` masks the key."""

    app_id: str
    app_key: str = attrs.field(repr=lambda _: MASK)
    base_url: str = PRODUCTION_URL
    shop_no: str | None = None
    shop_id: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def describe(self) -> str:
        """One line for ``--debug``: every setting, the key masked."""
        store = f"sunmi_shop_no={self.shop_no}" if self.shop_no else f"shop_id={self.shop_id}"
        return (
            f"app_id={self.app_id} app_key={mask(self.app_key)} {store} "
            f"base_url={self.base_url} timeout={self.timeout:g}s"
        )


def read_key_file(path: str, stdin_reader: Callable[[], str] | None = None) -> str:
    """The key held in a file (``-`` = standard input), without surrounding whitespace."""
    try:
        if path == "-":
            text = stdin_reader() if stdin_reader is not None else sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise CliError(f"cannot read the app key file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"the app key file {path} is not UTF-8 text") from None
    key = text.strip()
    if not key:
        raise CliError(f"the app key file {path} is empty")
    return key


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None and value.strip():
            return value.strip()
    return None


def _resolve_key(
    flags: ConfigFlags, env: Mapping[str, str], prompt: Callable[[], str] | None
) -> str:
    if flags.app_key_file is not None:
        return read_key_file(flags.app_key_file)
    if flags.ask_key:
        if prompt is None:
            raise CliError("--ask-key needs a terminal to prompt on")
        key = prompt().strip()
        if not key:
            raise CliError("no app key was typed")
        return key
    from_env = _first(env.get("SUNMI_APP_KEY"))
    if from_env is not None:
        return from_env
    key_file = _first(env.get("SUNMI_APP_KEY_FILE"))
    if key_file is not None:
        return read_key_file(key_file)
    raise CliError(
        "no app key: set SUNMI_APP_KEY or SUNMI_APP_KEY_FILE, "
        "or pass --app-key-file PATH or --ask-key"
    )


def _resolve_base_url(flags: ConfigFlags, env: Mapping[str, str]) -> str:
    if flags.uat and flags.base_url:
        raise CliError("--uat and --base-url cannot be used together")
    if flags.uat:
        return UAT_URL
    url = _first(flags.base_url, env.get("SUNMI_BASE_URL")) or PRODUCTION_URL
    if not url.startswith(("http://", "https://")):
        raise CliError(f"the base URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def resolve_settings(
    flags: ConfigFlags,
    env: Mapping[str, str] | None = None,
    *,
    prompt: Callable[[], str] | None = None,
) -> Settings:
    """Settings from the flags, falling back on the environment; CliError (exit 2) if lacking."""
    env = os.environ if env is None else env
    app_id = _first(flags.app_id, env.get("SUNMI_APP_ID"))
    if app_id is None:
        raise CliError("no app id: pass --app-id or set SUNMI_APP_ID")
    shop_no = _first(flags.shop_no, None if flags.shop_id else env.get("SUNMI_SHOP_NO"))
    shop_id = _first(flags.shop_id, None if flags.shop_no else env.get("SUNMI_SHOP_ID"))
    if shop_no is None and shop_id is None:
        raise CliError("no store: pass --shop-no or set SUNMI_SHOP_NO")
    base_url = _resolve_base_url(flags, env)
    timeout = flags.timeout if flags.timeout is not None else DEFAULT_TIMEOUT
    if timeout <= 0:
        raise CliError("--timeout must be positive")
    key = _resolve_key(flags, env, prompt)
    return Settings(
        app_id=app_id,
        app_key=key,
        base_url=base_url,
        shop_no=shop_no,
        shop_id=None if shop_no else shop_id,
        timeout=timeout,
    )
