"""Run the fake cloud over HTTP: ``python -m sunmi_face_async.testing --port 8765``.

The first lines printed are ``key=value`` pairs: ``base_url``, ``app_id``, ``app_key``,
``shop_no`` and ``pid``, then ``ready``. The credentials are the fake's own test values,
printed on purpose so a client can be pointed at it. The socket is listening before they are
printed, so ``--port 0`` (a free port) is safe to use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .fake import FakeSunmiCloud
from .options import add_arguments, cloud_from_settings
from .server import serve

__all__ = ["build_parser", "cloud_from_args", "main", "serve"]


def build_parser(prog: str = "python -m sunmi_face_async.testing") -> argparse.ArgumentParser:
    """The command line of the fake server, generated from ``testing.options.OPTIONS``."""
    parser = argparse.ArgumentParser(prog=prog, description="Run the fake SUNMI face cloud.")
    add_arguments(parser)
    return parser


def cloud_from_args(args: argparse.Namespace) -> FakeSunmiCloud:
    return cloud_from_settings(vars(args))


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
