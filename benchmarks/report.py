"""RESULTS.md: one run's machine, targets and tables, rendered from the results dict."""

from __future__ import annotations

from typing import Any

from . import report_backends, targets
from .throughput import CLIENTS


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _num(value: float | None, fmt: str = ".0f") -> str:
    return "—" if value is None else format(value, fmt)


def _ms(latency: float) -> str:
    return f"{latency * 1000:g} ms"


def _machine(results: dict[str, Any]) -> list[str]:
    facts = results["machine"]
    mode = "quick (smoke test: fewer cells, smaller N)" if results["quick"] else "full"
    lines = ["## Machine and versions", ""]
    lines += _table(["", ""], [[k, str(v)] for k, v in facts.items()] + [["run", mode]])
    lines += [f"Total wall time of the run: {results.get('wall_s', 0):.0f} s.", ""]
    return lines


def _summary(results: dict[str, Any]) -> list[str]:
    rows = [
        [c.target, c.measured, c.verdict, c.why if c.passed is False else ""]
        for c in targets.checks(results)
    ]
    lines = ["## Targets", ""]
    if not rows:
        return [*lines, "No target could be checked in this run.", ""]
    passed = sum(1 for c in targets.checks(results) if c.passed)
    lines += [f"{passed} of {len(rows)} checks pass.", ""]
    header = ["target (issues 6, 14)", "measured", "result", "why missed (evidence from this run)"]
    return lines + _table(header, rows)


def _server(results: dict[str, Any]) -> list[str]:
    headroom = targets.server_headroom(results.get("throughput") or [])
    lines = ["## Server check", ""]
    lines += [
        f"The loopback server is fast enough when raw aiohttp gets at least "
        f"{targets.SERVER_HEADROOM:g} × our requests per second from it at zero latency. "
        f"Server core: {results.get('server_core', 'not pinned')}.",
        "",
    ]
    rows = []
    throughput = results.get("throughput") or []
    for payload, c, ratio in headroom:
        busy = [
            (targets.cell(throughput, payload, c, 0.0, name) or {}).get("server_busy")
            for name in ("aiohttp", targets.OURS)
        ]
        if ratio is None:
            verdict = "ours not measured"
        elif ratio >= targets.SERVER_HEADROOM:
            verdict = "ok: not the bottleneck"
        else:
            verdict = "**the server was the bottleneck** (by this rule)"
        rows.append(
            [payload, str(c), _num(ratio, ".1f"), *(_num(b and b * 100) for b in busy), verdict]
        )
    header = ["payload", "C", "aiohttp ÷ ours-httpx", "server CPU % (aiohttp)", "(ours)", "verdict"]
    lines += _table(header, rows)
    return [
        *lines,
        "Server CPU % is the share of its core the server process used during that run: "
        "near 100 means the server was saturated.",
        "",
    ]


def _overhead(results: dict[str, Any]) -> list[str]:
    lines = ["## (a) The client's own cost per request", ""]
    lines += [
        "Both on `httpx.MockTransport` (no network), interleaved rounds, medians. "
        "Overhead = median of the per-round differences (ours − raw).",
        "",
    ]
    rows = []
    for row in results.get("overhead") or []:
        rows.append(
            [
                row["endpoint"],
                f"{row['raw_us']:.1f}",
                _num(row.get("ours_us"), ".1f"),
                _num(row.get("overhead_us"), "+.1f"),
                f"{row['rounds']} × {row['requests_per_round']}",
            ]
        )
    header = ["endpoint", "raw httpx µs/req", "ours µs/req", "overhead µs", "rounds × requests"]
    return lines + _table(header, rows)


def _throughput(results: dict[str, Any]) -> list[str]:
    rows = results.get("throughput") or []
    settings = results.get("settings") or {}
    lines = ["## (b) Requests per second", ""]
    lines += [
        "`ours-httpx` / `ours-aiohttp` = our client on each backend: bulk enroll for uploads, "
        "C worker tasks over `groups.get` for forms; `httpx` = one stock AsyncClient; "
        "`gather` and `sequential` use our client (httpx) naively. `in flight` = the most "
        "requests the server held at once while `ours-httpx` ran.",
        "",
        f"Each of aiohttp, httpx and ours (both backends) ran {settings.get('rounds', 1)} "
        f"time(s) per cell for at least {settings.get('duration_s', 0):g} s "
        "(3 round trips at long latencies), "
        "interleaved; the table shows the median. `gather` sends as many calls as ours "
        "completed in that time, all at once, and is cut off after twice the duration.",
        "",
    ]
    for payload in targets.payloads(rows):
        lines += [f"### {payload}", ""]
        keys = sorted({(r["latency"], r["concurrency"]) for r in rows if r["payload"] == payload})
        table = []
        for latency, c in keys:
            cells = {n: targets.cell(rows, payload, c, latency, n) for n in CLIENTS}
            ours, stock = cells[targets.OURS], cells["httpx"]
            ratio = (
                ours["rps"] / stock["rps"]
                if ours and stock and "rps" in ours and stock.get("rps")
                else None
            )
            table.append(
                [_ms(latency), str(c)]
                + [_rps_text(cells[n]) for n in CLIENTS]
                + [_num(ratio, ".2f"), str((ours or {}).get("max_in_flight", "—"))]
            )
        header = ["latency", "C", *CLIENTS, "ours-httpx ÷ httpx", "in flight"]
        lines += _table(header, table)
    return lines


def _rps_text(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    if "rps" not in row:
        return "error"
    return f"{row['rps']:.0f}" + (" (!)" if row.get("error") else "")


def _fractions(results: dict[str, Any]) -> list[str]:
    rows = [r for r in results.get("throughput") or [] if r["latency"] > 0]
    lines = ["## (c) Fraction of the ideal C / latency", ""]
    table = []
    for payload in targets.payloads(rows):
        for latency, c in sorted({(r["latency"], r["concurrency"]) for r in rows}):
            cells = [targets.cell(rows, payload, c, latency, n) for n in CLIENTS]
            if not any(cells):
                continue
            fractions = [_num((x or {}).get("fraction_of_ideal"), ".2f") for x in cells]
            table.append([payload, _ms(latency), str(c), f"{c / latency:.0f}", *fractions])
    return lines + _table(["payload", "latency", "C", "ideal r/s", *CLIENTS], table)


def _export(results: dict[str, Any]) -> list[str]:
    export = results.get("export")
    lines = ["## (d) Export of a large group", ""]
    if not export:
        return [*lines, "Not measured.", ""]
    lines += [
        f"{export['faces']:,} faces in {export['pages']:,} pages of 100, server latency "
        f"{_ms(export['latency'])}. The sequential time is measured over its first "
        f"{export['sequential_pages_measured']} pages ({export['sequential_measured_s']:.1f} s) "
        "and scaled to all pages.",
        "",
    ]
    rows = [
        [
            f"concurrent pages (C={export['concurrency']})",
            f"{export['concurrent_s']:.2f}",
            f"{export['concurrent_faces_per_s']:,.0f}",
            f"{export['exported']:,} ({export['unique']:,} unique)",
        ],
        [
            "sequential pages (`iter_faces`)",
            f"{export['sequential_total_s']:.1f} (scaled)",
            f"{export['faces'] / export['sequential_total_s']:,.0f}",
            "—",
        ],
        ["ideal at this C and latency", f"{export['ideal_s']:.2f}", "—", "—"],
    ]
    lines += _table(["", "seconds", "faces/s", "faces exported"], rows)
    return [*lines, f"Speed-up: {export['speedup']:.1f} ×.", ""]


def _memory(results: dict[str, Any]) -> list[str]:
    rows = results.get("memory") or []
    lines = ["## (e) Memory while enrolling N items", ""]
    if not rows:
        return [*lines, "Not measured.", ""]
    lines += [
        "Fresh interpreter per measurement, in-process MockTransport answering at once, "
        "1 KB pictures. Peak = VmHWM; baseline = VmRSS after setup and warm-up.",
        "",
    ]
    table = [
        [
            r["mode"],
            f"{r['items']:,}",
            f"{r['baseline_kb'] / 1024:.1f}",
            f"{r['peak_kb'] / 1024:.1f}",
            f"{(r['peak_kb'] - r['baseline_kb']) / 1024:.1f}",
            f"{r['elapsed_s']:.1f}",
        ]
        for r in rows
    ]
    header = ["driver", "items", "baseline MB", "peak MB", "peak − baseline MB", "seconds"]
    return lines + _table(header, table)


def render(results: dict[str, Any], chart_name: str | None) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (`python -m benchmarks`); do not edit by hand. Numbers from a "
        "shared machine are noisy: read the ratios, which are measured side by side in one run.",
        "",
    ]
    lines += _machine(results) + _summary(results) + report_backends.backends(results)
    lines += _server(results) + _overhead(results) + report_backends.layers(results)
    lines += _throughput(results)
    if chart_name:
        lines += [f"![requests per second against concurrency]({chart_name})", ""]
    lines += _fractions(results) + _export(results) + _memory(results)
    errors = results.get("errors") or []
    if errors:
        lines += ["## Errors", ""] + [f"- {e}" for e in errors] + [""]
    return "\n".join(lines)
