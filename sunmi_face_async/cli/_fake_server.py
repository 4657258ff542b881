"""``sunmi-face fake-server``: the fake SUNMI cloud on loopback, to try the CLI without an account.

It prints the base URL and the fake's own test credentials (they are not secrets: every fake
accepts them) as ``KEY=value`` lines, then serves until Ctrl-C.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

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


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(512)  # accept connections (queued) from the moment the address is printed
    return sock


@cli.command("fake-server")
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

    Example: sunmi-face fake-server --port 8765 --latency 0.02 --error-rate 5000=0.01
    """
    if host not in _LOOPBACK:
        raise click.BadParameter("the fake cloud only listens on loopback", param_hint="--host")
    try:
        import uvicorn

        from ..testing import FakeSunmiCloud
        from ..testing.faults import Faults
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
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown_host}:{bound_port}/openapi"
    _announce(base_url, cloud)
    config = uvicorn.Config(cloud.app, log_level="warning", lifespan="off", access_log=False)
    server: Any = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this command is meant to end
    finally:
        sock.close()
    click.echo("fake cloud stopped", err=True)
    return EXIT_OK


def _announce(base_url: str, cloud: Any) -> None:
    """The connection details, as lines a script can parse and a shell can paste."""
    lines = [
        f"base_url={base_url}",
        f"app_id={cloud.app_id}",
        f"app_key={cloud.app_key}",
        f"shop_no={cloud.shop_no}",
        "# fake test credentials; to use them from another shell:",
        f"export SUNMI_BASE_URL={base_url} SUNMI_APP_ID={cloud.app_id} "
        f"SUNMI_APP_KEY={cloud.app_key} SUNMI_SHOP_NO={cloud.shop_no}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    click.echo("fake cloud listening; Ctrl-C to stop", err=True)
