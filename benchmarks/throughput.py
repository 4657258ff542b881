"""Scenarios (b) and (c): requests per second of each client against the loopback server.

The matrix: form POSTs and multipart uploads of 50, 200 and 500 KB, at concurrency C in
{1, 16, 64, 128} and server latency in {0, 50 ms, C / 320 s}. In each cell the clients run
one after the other against the same server process: our client on each backend
(``ours-httpx``, ``ours-aiohttp``), one stock httpx client and raw aiohttp, interleaved; every
cell also records how many requests the server really saw in flight at once. The fraction of
the ideal ``C / latency`` (scenario c) is derived from the same cells.
"""

from __future__ import annotations

import asyncio
import statistics
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
    run_ours_aiohttp,
    run_sequential,
)
from .server import BenchServer

CELL_TIMEOUT = 90.0

#: Order inside one cell; ``gather`` sends as many requests as the best of the others
#: managed in the cell's duration (it cannot stop at a deadline).
CLIENTS = ("aiohttp", "httpx", "ours-httpx", "ours-aiohttp", "gather", "sequential")
#: The clients every cell runs ``rounds`` times, interleaved.
REPEATED = ("aiohttp", "httpx", "ours-httpx", "ours-aiohttp")


def latencies(concurrency: int) -> list[float]:
    """0, 50 ms and the latency at which this C ideally makes 320 requests per second."""
    values = [0.0, 0.05, concurrency / 320]
    return sorted(set(values))


def matrix(quick: bool) -> list[tuple[Payload, int, float]]:
    if quick:  # a smoke test of every kind of cell, not a measurement
        payloads = [FORM, UPLOADS[200]]
        pairs = [(1, 0.0), (64, 0.0), (64, 0.05)]
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
            "ours-httpx": run_ours,
            "ours-aiohttp": run_ours_aiohttp,
            "sequential": run_sequential,
        }[client]
        coroutine = driver(base_url, payload, c, duration)
    return asyncio.run(asyncio.wait_for(coroutine, CELL_TIMEOUT))


def _order(concurrency: int, rounds: int) -> list[str]:
    """Interleaved rounds of the deadline-bound clients, then gather and sequential once."""
    repeated = list(REPEATED)
    order: list[str] = []
    for round_ in range(rounds):
        order += repeated if round_ % 2 == 0 else repeated[::-1]
    order.append("gather")
    if concurrency == 1:
        order.append("sequential")
    return order


def run(
    server: BenchServer,
    *,
    quick: bool,
    duration: float,
    rounds: int = 1,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every cell of the matrix, one row per (payload, C, latency, client).

    Each deadline-bound client runs ``rounds`` times, interleaved with the others so that a
    shared machine's drifting load hits them alike; the row keeps the median.
    """
    rows: list[dict[str, Any]] = []
    current_delay: float | None = None
    cells = matrix(quick)
    started = time.perf_counter()
    for number, (payload, concurrency, latency) in enumerate(cells, 1):
        if latency != current_delay:
            server.configure(delay=latency)
            current_delay = latency
        # At long latencies a run needs a few round trips to mean anything.
        cell_duration = max(duration, 3 * latency)
        samples: dict[str, list[dict[str, Any]]] = {}
        errors: dict[str, str] = {}
        for client in _order(concurrency, rounds):
            if client in errors:
                continue
            ours = [x["rps"] for x in samples.get("ours-httpx", [])]
            # gather gets the number of calls ours completed in the same time.
            reference = statistics.median(ours) if ours else 0.0
            count = max(concurrency, min(20_000, round(reference * cell_duration)))
            before = server.stats(reset=True)
            try:
                result = _drive(client, server.base_url, payload, concurrency, cell_duration, count)
            except Exception as exc:  # a crashed cell is reported, and fails the run at the end
                errors[client] = f"{type(exc).__name__}: {exc}"[:300]
                log(traceback.format_exc(limit=3))
                continue
            after = server.stats(reset=True)
            samples.setdefault(client, []).append(
                {
                    "rps": result.rps,
                    "completed": result.completed,
                    "failed": result.failed,
                    "elapsed": result.elapsed,
                    "max_in_flight": after["max_in_flight"],
                    "max_connections": after["max_connections"],
                    "server_busy": _busy(before, after),
                    "connections_opened": after["accepted"] - before["accepted"],
                }
            )
        line = []
        for client in CLIENTS:
            if client not in samples and client not in errors:
                continue
            row = _row(payload, concurrency, latency, client, samples.get(client, []))
            if client in errors:
                row["error"] = errors[client]
                row.pop("rps", None)
            rows.append(row)
            line.append(f"{client}={row.get('rps', float('nan')):.0f}")
        log(
            f"[{number}/{len(cells)} {time.perf_counter() - started:5.0f}s] {payload.name:>14} "
            f"C={concurrency:<3} latency={latency * 1000:6.1f} ms: " + " ".join(line)
        )
    return rows


def _row(
    payload: Payload, concurrency: int, latency: float, client: str, runs: list[dict[str, Any]]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "payload": payload.name,
        "size": payload.size,
        "concurrency": concurrency,
        "latency": latency,
        "client": client,
        "ideal_rps": concurrency / latency if latency else None,
    }
    if not runs:
        return row
    busy = [r["server_busy"] for r in runs if r["server_busy"] is not None]
    failed = sum(r["failed"] for r in runs)
    row.update(
        rps=statistics.median(r["rps"] for r in runs),
        samples=[r["rps"] for r in runs],
        completed=sum(r["completed"] for r in runs),
        failed=failed,
        elapsed=sum(r["elapsed"] for r in runs),
        max_in_flight=max(r["max_in_flight"] for r in runs),
        max_connections=max(r["max_connections"] for r in runs),
        server_busy=max(busy) if busy else None,
        connections_opened=sum(r["connections_opened"] for r in runs),
    )
    if failed:
        row["error"] = f"{failed} items not DONE"
    if row["ideal_rps"]:
        row["fraction_of_ideal"] = row["rps"] / row["ideal_rps"]
    return row


def _busy(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """The share of one core the server process used between two stats readings."""
    wall = after["clock_s"] - before["clock_s"]
    return (after["cpu_s"] - before["cpu_s"]) / wall if wall > 0 else None
