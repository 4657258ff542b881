"""Scenarios (b) and (c): requests per second of each client against the loopback server.

The matrix: form POSTs and multipart uploads of 50, 200 and 500 KB, at concurrency C in
{1, 16, 64, 128} and server latency in {0, 50 ms, C / 320 s}. In each cell the clients run
one after the other against the same server process; every cell also records how many
requests the server really saw in flight at once. The fraction of the ideal ``C / latency``
(scenario c) is derived from the same cells.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from typing import Any

from ._clients import (
    FORM,
    UPLOADS,
    Payload,
    Run,
    run_aiohttp,
    run_gather,
    run_httpx,
    run_ours,
    run_sequential,
)
from .server import BenchServer

CELL_TIMEOUT = 90.0

#: Order inside one cell; ``gather`` sends as many requests as the best of the others
#: managed in the cell's duration (it cannot stop at a deadline).
CLIENTS = ("aiohttp", "httpx", "ours", "gather", "sequential")


def latencies(concurrency: int) -> list[float]:
    """0, 50 ms and the latency at which this C ideally makes 320 requests per second."""
    values = [0.0, 0.05, concurrency / 320]
    return sorted(set(values))


def matrix(quick: bool) -> list[tuple[Payload, int, float]]:
    if quick:
        payloads = [FORM, UPLOADS[200]]
        pairs = [(1, 0.0), (16, 0.0), (64, 0.0), (16, 0.05), (64, 0.05)]
    else:
        payloads = [FORM, UPLOADS[50], UPLOADS[200], UPLOADS[500]]
        pairs = [(c, lat) for c in (1, 16, 64, 128) for lat in latencies(c)]
    # Grouped by latency, so the server is reconfigured as seldom as possible.
    return sorted(
        ((p, c, lat) for p in payloads for c, lat in pairs),
        key=lambda cell: (cell[2], cell[0].size, cell[1]),
    )


def _drive(
    client: str, base_url: str, payload: Payload, c: int, duration: float, count: int
) -> Run:
    if client == "gather":
        coroutine = run_gather(base_url, payload, c, count, limit=2 * duration)
    else:
        driver = {
            "aiohttp": run_aiohttp,
            "httpx": run_httpx,
            "ours": run_ours,
            "sequential": run_sequential,
        }[client]
        coroutine = driver(base_url, payload, c, duration)
    return asyncio.run(asyncio.wait_for(coroutine, CELL_TIMEOUT))


def run(
    server: BenchServer,
    *,
    quick: bool,
    duration: float,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every cell of the matrix, one row per (payload, C, latency, client)."""
    rows: list[dict[str, Any]] = []
    current_delay: float | None = None
    cells = matrix(quick)
    started = time.perf_counter()
    for number, (payload, concurrency, latency) in enumerate(cells, 1):
        if latency != current_delay:
            server.configure(delay=latency)
            current_delay = latency
        rates: dict[str, float] = {}
        line = []
        for client in CLIENTS:
            if client == "sequential" and concurrency != 1:
                continue
            # gather gets the number of calls ours completed in the same time.
            reference = rates.get("ours") or rates.get("httpx") or 0.0
            count = max(concurrency, min(20_000, round(reference * duration)))
            before = server.stats(reset=True)
            row: dict[str, Any] = {
                "payload": payload.name,
                "size": payload.size,
                "concurrency": concurrency,
                "latency": latency,
                "client": client,
                "ideal_rps": concurrency / latency if latency else None,
            }
            try:
                result = _drive(client, server.base_url, payload, concurrency, duration, count)
            except Exception as exc:  # a crashed cell is reported, and fails the run at the end
                row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                log(traceback.format_exc(limit=3))
            else:
                stats = server.stats(reset=True)
                row.update(
                    completed=result.completed,
                    failed=result.failed,
                    elapsed=result.elapsed,
                    rps=result.rps,
                    max_in_flight=stats["max_in_flight"],
                    max_connections=stats["max_connections"],
                )
                if result.failed:
                    row["error"] = f"{result.failed} items not DONE"
                rates[client] = result.rps
                row["server_busy"] = _busy(before, stats)
                row["connections_opened"] = stats["accepted"] - before["accepted"]
                if row["ideal_rps"]:
                    row["fraction_of_ideal"] = result.rps / row["ideal_rps"]
            rows.append(row)
            line.append(f"{client}={row.get('rps', float('nan')):.0f}")
        log(
            f"[{number}/{len(cells)} {time.perf_counter() - started:5.0f}s] {payload.name:>14} "
            f"C={concurrency:<3} latency={latency * 1000:6.1f} ms: " + " ".join(line)
        )
    return rows


def _busy(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """The share of one core the server process used between two stats readings."""
    wall = after["clock_s"] - before["clock_s"]
    return (after["cpu_s"] - before["cpu_s"]) / wall if wall > 0 else None
