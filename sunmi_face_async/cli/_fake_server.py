"""``sunmi-face fake-server``: the fake SUNMI cloud on loopback, to try the CLI without an account.

It prints the base URL and the fake's own test credentials (they are not secrets: every fake
accepts them) as ``KEY=value`` lines, then serves until Ctrl-C.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import click

from ._app import cli
from ._exits import EXIT_OK, CliError

__all__ = ["fake_server", "require_fake"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# What the ``fake`` extra installs, as (module, distribution); multipart has two module names.
_FAKE_MODULES = (("starlette", "starlette"), ("uvicorn", "uvicorn"))
_MULTIPART_MODULES = ("python_multipart", "multipart")


def _missing(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return True
    return False


def require_fake(command: str) -> None:
    """Refuse ``command`` in one line naming the extra when the fake cloud's packages are absent."""
    missing = [dist for module, dist in _FAKE_MODULES if _missing(module)]
    if all(_missing(module) for module in _MULTIPART_MODULES):
        missing.append("python-multipart")
    if missing:
        raise CliError(
            f"'{command}' runs the fake cloud, which needs the fake extra "
            f"({', '.join(missing)} not installed): pip install 'sunmi-face-async[cli,fake]'"
        )


def _read_each(read: Callable[[str], Any]) -> Callable[..., tuple[Any, ...]]:
    """A click callback reading every value of a repeated option with ``read``."""

    def callback(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
        try:
            return tuple(read(value) for value in values)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None

    return callback


def _click_type(option: Any) -> Any:
    """The click type of one option of ``testing.options.OPTIONS``."""
    if option.choices:
        return click.Choice(option.choices)
    if option.minimum is None and option.maximum is None:
        return option.type
    if option.type is int:
        return click.IntRange(option.minimum, option.maximum)
    if option.type is float:
        return click.FloatRange(option.minimum, option.maximum)
    return str


def _fake_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The fake's own options (those of ``testing.options.OPTIONS`` marked ``in_cli``)."""
    from ..testing.options import OPTIONS  # importable without the fake extra

    for option in reversed([o for o in OPTIONS if o.in_cli]):
        command = click.option(
            option.flag,
            option.name,
            type=str if option.multiple else _click_type(option),
            callback=_read_each(option.read) if option.multiple else None,
            multiple=option.multiple,
            default=None if option.multiple else option.default,
            show_default=not option.multiple,
            metavar=option.metavar,
            help=option.help,
        )(command)
    return command


@cli.command("fake-server", short_help="Run the fake SUNMI cloud on loopback.")
@_fake_options
def fake_server(**settings: Any) -> int:
    """Run the fake SUNMI cloud on loopback and print the credentials to use.

    \b
    Example:
      sunmi-face fake-server --port 8765 --latency 0.02 --error-rate 5000=0.01
    """
    host, port = settings["host"], settings["port"]
    if host not in _LOOPBACK:
        raise click.BadParameter("the fake cloud only listens on loopback", param_hint="--host")
    require_fake("fake-server")
    from ..testing.options import cloud_from_settings
    from ..testing.server import serve

    try:
        cloud = cloud_from_settings(settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        serve(cloud, host, port, announce=_Announcer())
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this command is meant to end
    except OSError as exc:
        raise CliError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    click.echo("fake cloud stopped", err=True)
    return EXIT_OK


class _Announcer:
    """Prints the server's ``key=value`` lines, then how to use them from a shell."""

    def __init__(self) -> None:
        self.details: dict[str, str] = {}

    def __call__(self, line: str) -> None:
        key, _, value = line.partition("=")
        self.details[key] = value
        sys.stdout.write(line + "\n")
        if line == "ready":
            d = self.details
            sys.stdout.write(
                "# the fake's own test credentials; to use them from another shell:\n"
                f"export SUNMI_BASE_URL={d.get('base_url')} SUNMI_APP_ID={d.get('app_id')} "
                f"SUNMI_APP_KEY={d.get('app_key')} SUNMI_SHOP_NO={d.get('shop_no')}\n"
            )
        sys.stdout.flush()
        if line == "ready":
            click.echo("fake cloud listening; Ctrl-C to stop", err=True)
