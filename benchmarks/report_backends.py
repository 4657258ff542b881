"""RESULTS.md sections of issue 14: the backends side by side, and our layers' cost in µs."""

from __future__ import annotations

from typing import Any

from . import targets

#: The issue's six rows: (payload, C, latency).
ISSUE_ROWS = (
    ("form", 1, 0.0),
    ("form", 16, 0.0),
    ("form", 64, 0.0),
    ("upload 50 KB", 16, 0.0),
    ("upload 200 KB", 64, 0.05),
    ("upload 500 KB", 64, 0.05),
)
_SIDES = ("ours-httpx", "ours-aiohttp", "httpx", "aiohttp")


def _rps(row: dict[str, Any] | None, ideal: float | None) -> str:
    if not row or "rps" not in row:
        return "—"
    text = f"{row['rps']:,.0f}"
    if ideal:
        text += f" ({row['rps'] / ideal:.2f})"
    return text + (" (!)" if row.get("error") else "")


def backends(results: dict[str, Any]) -> list[str]:
    """Every cell with the four clients: the issue's rows first, then all the others."""
    rows = results.get("throughput") or []
    lines = ["## Backends side by side (issue 14)", ""]
    if not rows:
        return [*lines, "Not measured.", ""]
    lines += [
        "r/s of our client on httpx (`ours-httpx`, the default) and on aiohttp "
        "(`ours-aiohttp`), one stock httpx client and raw aiohttp, in the same cell of the "
        "same run; (fraction of the ideal C / latency) at latency cells. Uploads of ours go "
        "through bulk enroll. The issue's six rows come first.",
        "",
    ]
    keys = sorted({(r["payload"], r["concurrency"], r["latency"]) for r in rows})
    ordered = [k for k in ISSUE_ROWS if k in keys] + [k for k in keys if k not in ISSUE_ROWS]
    table = []
    for payload, c, latency in ordered:
        cells = {n: targets.cell(rows, payload, c, latency, n) for n in _SIDES}
        ideal = c / latency if latency else None
        ours, raw = cells["ours-aiohttp"], cells["aiohttp"]
        ratio = (
            f"{ours['rps'] / raw['rps']:.2f}"
            if ours and raw and "rps" in ours and raw.get("rps")
            else "—"
        )
        label = f"{payload}, C = {c}, {latency * 1000:g} ms"
        if ideal:
            label += f" (ideal {ideal:,.0f})"
        table.append([label, *(_rps(cells[n], ideal) for n in _SIDES), ratio])
    header = ["cell", *_SIDES[:2], "stock httpx", "raw aiohttp", "ours-aiohttp ÷ raw aiohttp"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return [*lines, ""]


def layers(results: dict[str, Any]) -> list[str]:
    data = results.get("layers") or {}
    lines = ["## (a2) Our layers with aiohttp underneath, µs per request", ""]
    if not data:
        return [*lines, "Not measured.", ""]
    lines += [
        "Each layer alone: every round times all of them one after the other, and each "
        "keeps its least disturbed round. The retry loop (with the pools' places and cancel "
        "scope, and the call's event and deadline bookkeeping) is `Transport.call` over an "
        "exchange that answers at once, minus the encoding and envelope parsing it runs "
        "(each side its least disturbed round).",
        "",
        "| layer | µs / request |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value:.1f} |" for name, value in data.get("isolated_us", {}).items()]
    lines.append("")
    e2e = data.get("end_to_end_cpu_us") or {}
    if e2e:
        lines += [
            "Client CPU per request (`time.process_time`, sequential calls against the "
            "loopback server; medians of interleaved rounds): what the client process spends, "
            "without the server's time or the waiting.",
            "",
            "| request | raw aiohttp | ours-aiohttp | ours-httpx | ours-aiohttp − raw |",
            "|---|---|---|---|---|",
        ]
        for kind, sides in e2e.items():
            extra = sides["ours-aiohttp"] - sides["raw aiohttp"]
            lines.append(
                f"| {kind} | {sides['raw aiohttp']:.0f} | {sides['ours-aiohttp']:.0f} | "
                f"{sides['ours-httpx']:.0f} | {extra:+.0f} |"
            )
        lines.append("")
    uvloop = data.get("uvloop")
    if uvloop:
        lines += [
            "Bulk enroll (uploads of "
            f"{uvloop['size'] // 1000} KB, C = {uvloop['concurrency']}, 0 ms) on asyncio's "
            "event loop and on uvloop, which the command line uses when it is installed "
            f"(medians of {uvloop['items'] // 4} interleaved round(s)):",
            "",
            "| event loop | uploads / s |",
            "|---|---|",
        ]
        lines += [f"| {name} | {rate:,.0f} |" for name, rate in uvloop["rates"].items()]
        lines.append("")
    return lines
