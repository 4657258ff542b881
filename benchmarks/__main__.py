"""``python -m benchmarks [--quick]``: run every scenario, write RESULTS.md and the chart.

The full run (about ten minutes) rewrites ``benchmarks/RESULTS.md`` and
``benchmarks/throughput.png``. ``--quick`` (under two minutes, fewer cells, smaller N) writes
them to ``benchmarks/out/`` instead, so a CI smoke test leaves the tree clean. Either way the
raw numbers go to ``benchmarks/out/results.json``. The exit status is 1 when a scenario
crashed, 0 otherwise: missed targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import (
    chart,
    client_overhead,
    confirm_perf,
    export,
    layers,
    memory,
    report,
    sync_perf,
    targets,
    throughput,
)
from ._common import machine
from .server import BenchServer

HERE = Path(__file__).resolve().parent
SCENARIOS = ("overhead", "layers", "throughput", "export", "memory", "sync", "confirm")


def _portable(trace: str) -> str:
    """A traceback as RESULTS.md may carry it: paths relative to the repository and the
    interpreter's prefix, never this machine's absolute ones."""
    prefixes = (
        (str(HERE.parent) + os.sep, ""),
        (sys.prefix + os.sep, "<venv>/"),
        (sys.base_prefix + os.sep, "<python>/"),
    )
    for prefix, name in prefixes:
        trace = trace.replace(prefix, name)
    return trace


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke test: under two minutes")
    parser.add_argument("--out", type=Path, help="where RESULTS.md and the chart go")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, help="run only this scenario (repeatable)"
    )
    parser.add_argument("--duration", type=float, help="seconds per client per throughput cell")
    parser.add_argument("--rounds", type=int, help="interleaved runs per client per cell")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    quick: bool = args.quick
    out_dir: Path = args.out or (HERE / "out" if quick else HERE)
    raw_dir = HERE / "out"
    raw_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or SCENARIOS)
    duration = args.duration or (0.5 if quick else 0.8)
    rounds = args.rounds or (1 if quick else 2)
    started = time.perf_counter()
    results: dict[str, Any] = {"quick": quick, "machine": machine(), "errors": []}
    results["settings"] = {"duration_s": duration, "rounds": rounds}

    def step(name: str, work: Callable[[], Any]) -> None:
        if name not in wanted:
            return
        _log(f"== {name}")
        begun = time.perf_counter()
        try:
            results[name] = work()
        except Exception:  # reported in RESULTS.md and in the exit status
            results["errors"].append(f"{name} crashed: {_portable(traceback.format_exc(limit=4))}")
            _log(results["errors"][-1])
        _log(f"== {name} took {time.perf_counter() - begun:.0f} s")

    step(
        "overhead", lambda: client_overhead.run(rounds=3 if quick else 7, n=400 if quick else 1000)
    )
    if "overhead" in wanted and not quick:
        try:
            (raw_dir / "profile.txt").write_text(client_overhead.profile(), encoding="utf-8")
        except Exception:
            _log(f"profile failed: {traceback.format_exc(limit=2)}")
    if wanted & {"throughput", "export", "layers"}:
        with BenchServer() as server:
            step("layers", lambda: layers.run(server.base_url, quick=quick))
            results["server_core"] = server.server_core
            step(
                "throughput",
                lambda: throughput.run(
                    server, quick=quick, duration=duration, rounds=rounds, log=_log
                ),
            )
            step(
                "export",
                lambda: export.run(
                    server,
                    faces=10_000 if quick else 100_000,
                    sequential_pages=20 if quick else 100,
                ),
            )
    step("memory", lambda: memory.run((1_000, 10_000) if quick else (10_000, 100_000)))
    step("sync", lambda: sync_perf.run((1_000,) if quick else (10_000, 100_000)))
    step("confirm", lambda: confirm_perf.run(1_000 if quick else 10_000))

    for row in results.get("throughput") or []:
        if "rps" not in row:
            results["errors"].append(
                f"cell crashed: {row['payload']} C={row['concurrency']} "
                f"latency={row['latency']} {row['client']}: {row.get('error')}"
            )
        elif row.get("error"):
            _log(
                f"warning: {row['payload']} C={row['concurrency']} {row['client']}: {row['error']}"
            )
    results["wall_s"] = time.perf_counter() - started

    (raw_dir / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    chart_name = "throughput.png"
    drawn = chart.draw(results.get("throughput") or [], out_dir / chart_name)
    text = report.render(results, chart_name if drawn else None)
    (out_dir / "RESULTS.md").write_text(text, encoding="utf-8")

    for check in targets.checks(results):
        _log(f"{check.verdict:<40} {check.target}: {check.measured}")
    _log(f"wrote {out_dir / 'RESULTS.md'} in {results['wall_s']:.0f} s")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
