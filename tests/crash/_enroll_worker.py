"""The crash/resume worker: enroll a manifest into a fake cloud over loopback, journalled.

Run by the tests as a subprocess (``sys.executable _enroll_worker.py ...``) and killed with
SIGKILL part way; running it again with the same journal resumes the job. Credentials and
the server come from the environment (``SUNMI_APP_ID``, ``SUNMI_APP_KEY``,
``SUNMI_SHOP_NO``, ``SUNMI_BASE_URL``), never from the command line. On completion the
report is written as JSON to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import anyio

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import enroll, read_manifest


async def _main(args: argparse.Namespace) -> int:
    async with AsyncSunmiFace.from_env(timeout=args.timeout) as client:
        job = enroll(
            client,
            read_manifest(args.manifest, group_id=args.group),
            concurrency=args.concurrency,
            journal=args.journal,
            external_key_slot=args.slot,
            settle=args.settle,
        )
        report = await job.run()
    Path(args.report).write_text(json.dumps(report.as_dict()), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--slot", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help="seconds a killed run's uploads may still take to land (default: enroll's)",
    )
    return anyio.run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
