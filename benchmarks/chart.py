"""The PNG: requests per second against concurrency, one line per client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import targets
from .throughput import CLIENTS


def draw(rows: list[dict[str, Any]], path: Path) -> bool:
    """One panel per (payload, latency) for 0 and 50 ms; False when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    payloads = targets.payloads(rows)
    lat_values = [lat for lat in (0.0, 0.05) if any(r["latency"] == lat for r in rows)]
    if not payloads or not lat_values:
        return False
    figure, axes = plt.subplots(
        len(lat_values),
        len(payloads),
        figsize=(4 * len(payloads), 3.4 * len(lat_values)),
        squeeze=False,
    )
    for i, latency in enumerate(lat_values):
        for j, payload in enumerate(payloads):
            axis = axes[i][j]
            cs = sorted({r["concurrency"] for r in rows if r["payload"] == payload})
            for client in CLIENTS:
                points = [
                    (c, row["rps"])
                    for c in cs
                    if (row := targets.cell(rows, payload, c, latency, client)) and "rps" in row
                ]
                if client == "sequential" and points:  # independent of C: a flat line
                    points = [(c, points[0][1]) for c in cs]
                    axis.plot(*zip(*points, strict=True), "--", label=client, color="grey")
                elif points:
                    axis.plot(*zip(*points, strict=True), "o-", label=client)
            if latency > 0:
                axis.plot(cs, [c / latency for c in cs], ":", color="black", label="C / latency")
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xticks(cs, [str(c) for c in cs])
            axis.set_title(f"{payload}, {latency * 1000:g} ms")
            axis.set_xlabel("concurrency C")
            axis.set_ylabel("requests / s")
            axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True
