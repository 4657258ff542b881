"""``sunmi-face fake-server``: the fake SUNMI cloud on loopback, to try the CLI without an account.

It prints the base URL and the fake's own test credentials (they are not secrets: every fake
accepts them) as ``KEY=value`` lines, then serves until Ctrl-C.
"""

from __future__ import annotations

import sys

import click

from ._app import cli
from ._exits import EXIT_OK, CliError

__all__ = ["fake_server", "parse_error_rates"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def parse_error_rates(values: tuple[str, ...]) -> dict[int, float]:
    """``CODE=P`` pairs (e.g. ``5000=0.02``, ``503=0.01``) as a dict."""
    rates: dict[int, float] = {}
    for value in values:
        code, sep, rate = value.partition("=")
        try:
            if not sep:
                raise ValueError
            rates[int(code)] = float(rate)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not CODE=RATE (e.g. 5000=0.02)", param_hint="--error-rate"
            ) from None
    return rates


@cli.command("fake-server", short_help="Run the fake SUNMI cloud on loopback.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 = any free."
)
@click.option("--latency", type=click.FloatRange(min=0), default=0.0, help="Seconds per request.")
@click.option("--jitter", type=click.FloatRange(min=0), default=0.0, help="Extra random latency.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault draws.")
@click.option(
    "--error-rate",
    "error_rates",
    multiple=True,
    metavar="CODE=P",
    help="Answer CODE (5000, 5091, or an HTTP status >= 500) with probability P.",
)
@click.option("--throttle-rate", type=click.FloatRange(0, 1), default=0.0, help="HTTP 429 rate.")
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Drop the connection before applying the change.",
)
@click.option(
    "--commit-then-timeout-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Apply the change, then drop the connection.",
)
@click.option("--max-faces", type=click.IntRange(min=1), default=30_000, show_default=True)
def fake_server(
    host: str,
    port: int,
    latency: float,
    jitter: float,
    seed: int,
    error_rates: tuple[str, ...],
    throttle_rate: float,
    drop_rate: float,
    commit_then_timeout_rate: float,
    max_faces: int,
) -> int:
    """Run the fake SUNMI cloud on loopback and print the credentials to use.

    \b
    Example:
      sunmi-face fake-server --port 8765 --latency 0.02 --error-rate 5000=0.01
    """
    if host not in _LOOPBACK:
        raise click.BadParameter("the fake cloud only listens on loopback", param_hint="--host")
    try:
        from ..testing import FakeSunmiCloud, Faults
        from ..testing.__main__ import serve
    except ImportError as exc:
        raise CliError(f"the fake cloud needs the 'fake' extra ({exc.name} is missing)") from None
    faults = Faults(
        latency=latency,
        jitter=jitter,
        error_rates=parse_error_rates(error_rates),
        throttle_rate=throttle_rate,
        drop_rate=drop_rate,
        commit_then_timeout_rate=commit_then_timeout_rate,
    )
    try:
        faults.validate()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    cloud = FakeSunmiCloud(seed=seed, max_faces=max_faces, faults=faults)
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
