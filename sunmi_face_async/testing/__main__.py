"""Run the fake cloud over HTTP: ``python -m sunmi_face_async.testing --port 8765``.

The first lines printed are ``key=value`` pairs: ``base_url``, ``app_id``, ``app_key``,
``shop_no`` and ``pid``, then ``ready``. The credentials are the fake's own test values,
printed on purpose so a client can be pointed at it. The socket is listening before they are
printed, so ``--port 0`` (a free port) is safe to use.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence

from .fake import DEFAULT_APP_ID, DEFAULT_APP_KEY, DEFAULT_SHOP_NO, FakeSunmiCloud
from .faults import Faults

__all__ = ["build_parser", "cloud_from_args", "main", "serve"]


def _error_rate(text: str) -> tuple[int, float]:
    code, sep, rate = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return int(code), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CODE=RATE, got {text!r}") from None


def build_parser(prog: str = "python -m sunmi_face_async.testing") -> argparse.ArgumentParser:
    """The command line of the fake server (the CLI's ``fake-server`` may reuse it)."""
    parser = argparse.ArgumentParser(prog=prog, description="Run the fake SUNMI face cloud.")
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=8765, help="0 picks a free port")
    add("--app-id", default=DEFAULT_APP_ID)
    add("--app-key", default=DEFAULT_APP_KEY)
    add("--shop-no", default=DEFAULT_SHOP_NO)
    add("--seed", type=int, default=0, help="seed of the fault draws")
    add("--latency", type=float, default=0.0, help="seconds added to every answer")
    add("--jitter", type=float, default=0.0, help="extra uniform latency in [0, S)")
    add(
        "--error-rate",
        type=_error_rate,
        action="append",
        default=[],
        metavar="CODE=P",
        help="answer CODE (an envelope code, or an HTTP status 500-599) with probability P",
    )
    add("--throttle-rate", type=float, default=0.0)
    add("--drop-rate", type=float, default=0.0)
    add("--commit-then-timeout-rate", type=float, default=0.0)
    add("--max-groups", type=int, default=10)
    add("--max-faces", type=int, default=30_000)
    add("--default-capacity", type=int, default=1000)
    add("--auth-failure", choices=["code", "http401"], default="code")
    add("--timestamp-window", type=float, default=600.0)
    add("--log-level", default="warning")
    return parser


def cloud_from_args(args: argparse.Namespace) -> FakeSunmiCloud:
    faults = Faults(
        latency=args.latency,
        jitter=args.jitter,
        error_rates=dict(args.error_rate),
        throttle_rate=args.throttle_rate,
        drop_rate=args.drop_rate,
        commit_then_timeout_rate=args.commit_then_timeout_rate,
    )
    return FakeSunmiCloud(
        app_id=args.app_id,
        app_key=args.app_key,
        shop_no=args.shop_no,
        seed=args.seed,
        max_groups=args.max_groups,
        max_faces=args.max_faces,
        default_capacity=args.default_capacity,
        faults=faults,
        auth_failure=args.auth_failure,
        timestamp_window=args.timestamp_window,
    )


def serve(
    cloud: FakeSunmiCloud,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    log_level: str = "warning",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Bind, announce the connection details, and serve ``cloud`` with uvicorn until stopped."""
    import uvicorn

    from ._app import API_PREFIX, HideDroppedConnections

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on such sockets, and without
    # it Nagle's algorithm adds ~40 ms to every answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if family == socket.AF_INET6 else host
    say = announce or (lambda line: print(line, flush=True))
    say(f"base_url=http://{url_host}:{bound_port}{API_PREFIX}")
    say(f"app_id={cloud.app_id}")
    say(f"app_key={cloud.app_key}")
    say(f"shop_no={cloud.shop_no}")
    say(f"pid={os.getpid()}")
    say("ready")
    logging.getLogger("uvicorn.error").addFilter(HideDroppedConnections())
    config = uvicorn.Config(
        cloud.app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cloud = cloud_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(cloud, args.host, args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
