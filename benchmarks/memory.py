"""Scenario (e): resident memory while enrolling N items, bulk enroll against ``gather``.

Each measurement runs in a fresh interpreter (``python -m benchmarks.memory --mode M --items
N``), so that one run's garbage never counts in the next. The client talks to an in-process
``httpx.MockTransport`` that answers every upload at once: what grows is the client's and the
driver's own bookkeeping. ``ours`` feeds ``bulk.enroll`` (concurrency 64, adaptive off) from a
lazy generator and drops each result as it comes; ``gather`` is the naive
``asyncio.gather(*(client.faces.add(...) for each item))``. The peak (VmHWM) is read from
``/proc/self/status`` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from ._common import APP_ID, APP_KEY, GROUP_ID, SHOP_NO, picture
from .server import ROOT

PICTURE_SIZE = 1024
CONCURRENCY = 64
_REPLY = b'{"code":0,"msg":"succeed","data":{"face_id":"578968751459"}}'


def _status_kb(field: str) -> int:
    """VmRSS or VmHWM in KiB; without /proc (macOS), the peak from getrusage for both."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=_REPLY, headers={"Content-Type": "application/json"})


async def _measure(mode: str, items: int) -> dict[str, Any]:
    from sunmi_face_async import AsyncSunmiFace
    from sunmi_face_async.bulk import FaceUpload, enroll

    transport = httpx.MockTransport(_handler)
    async with AsyncSunmiFace(
        APP_ID,
        APP_KEY,
        sunmi_shop_no=SHOP_NO,
        base_url="http://bench.invalid/openapi",
        transport=transport,
    ) as client:
        # Warm up both paths so that imports and caches are in the baseline.
        await enroll(client, [FaceUpload(group_id=GROUP_ID, pic=picture(64, -1))]).run()
        await client.faces.add(GROUP_ID, pic=picture(64, -2), name="warm-up")
        baseline = _status_kb("VmRSS")
        start = time.perf_counter()
        done = 0
        if mode == "ours":

            def uploads() -> Iterator[FaceUpload]:
                for i in range(items):
                    yield FaceUpload(group_id=GROUP_ID, pic=picture(PICTURE_SIZE, i), name=f"n{i}")

            job = enroll(client, uploads(), concurrency=CONCURRENCY, adaptive=False)
            async for result in job:
                done += result.outcome.name == "DONE"
        else:
            ids = await asyncio.gather(
                *(
                    client.faces.add(GROUP_ID, pic=picture(PICTURE_SIZE, i), name=f"n{i}")
                    for i in range(items)
                )
            )
            done = len(ids)
        elapsed = time.perf_counter() - start
    return {
        "mode": mode,
        "items": items,
        "done": done,
        "elapsed_s": elapsed,
        "baseline_kb": baseline,
        "peak_kb": _status_kb("VmHWM"),
        "end_kb": _status_kb("VmRSS"),
    }


def measure(mode: str, items: int, timeout: float = 300.0) -> dict[str, Any]:
    """One measurement in a fresh interpreter."""
    command = [sys.executable, "-m", "benchmarks.memory", "--mode", mode, "--items", str(items)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory run {mode}/{items} failed: {done.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(sizes: tuple[int, int]) -> list[dict[str, Any]]:
    """Peak RSS of ours and of gather at the two sizes."""
    return [measure(mode, items) for mode in ("ours", "gather") for items in sizes]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one RSS measurement")
    parser.add_argument("--mode", choices=("ours", "gather"), required=True)
    parser.add_argument("--items", type=int, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_measure(args.mode, args.items))))


if __name__ == "__main__":
    main()
