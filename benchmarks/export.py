"""Scenario (d): exporting a large group, concurrent pages against page after page.

The server plays a virtual group of N faces at 50 ms per request. ``bulk.export_faces``
fetches the first page, learns ``total_num`` and then fetches the rest C pages at a time; the
baseline is ``client.groups.iter_faces``, one page after the other. The sequential baseline
would take a minute at 100k faces (1000 pages × 50 ms), so it runs over its first pages only
and its time is scaled to the whole group (pages are alike, so the time per page is flat);
the table says how many pages it really fetched.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ._common import APP_ID, APP_KEY, GROUP_ID, SHOP_NO
from .server import BenchServer

PAGE_SIZE = 100


def _client(base_url: str, concurrency: int) -> Any:
    from sunmi_face_async import AsyncSunmiFace

    return AsyncSunmiFace(
        APP_ID, APP_KEY, sunmi_shop_no=SHOP_NO, base_url=base_url, max_connections=concurrency
    )


async def _concurrent(base_url: str, concurrency: int) -> tuple[int, int, float]:
    from sunmi_face_async.bulk import export_faces

    async with _client(base_url, concurrency) as client:
        seen: set[str] = set()
        count = 0
        start = time.perf_counter()
        async for face in export_faces(
            client, [GROUP_ID], concurrency=concurrency, page_size=PAGE_SIZE
        ):
            count += 1
            seen.add(face.face_id)
        return count, len(seen), time.perf_counter() - start


async def _sequential(base_url: str, max_pages: int) -> tuple[int, float]:
    async with _client(base_url, 1) as client:
        count = 0
        start = time.perf_counter()
        async for _ in client.groups.iter_faces(GROUP_ID, page_size=PAGE_SIZE):
            count += 1
            if count >= max_pages * PAGE_SIZE:
                break
        return count, time.perf_counter() - start


def run(
    server: BenchServer,
    *,
    faces: int,
    concurrency: int = 16,
    latency: float = 0.05,
    sequential_pages: int = 100,
) -> dict[str, Any]:
    server.configure(delay=latency, group_size=faces)
    try:
        count, unique, concurrent_s = asyncio.run(_concurrent(server.base_url, concurrency))
        server.stats(reset=True)
        seq_count, seq_s = asyncio.run(_sequential(server.base_url, sequential_pages))
    finally:
        server.configure(delay=0.0)
    pages = -(-faces // PAGE_SIZE)
    seq_pages = -(-seq_count // PAGE_SIZE)
    sequential_total_s = seq_s / seq_pages * pages
    return {
        "faces": faces,
        "pages": pages,
        "concurrency": concurrency,
        "latency": latency,
        "exported": count,
        "unique": unique,
        "complete": count == unique == faces,
        "concurrent_s": concurrent_s,
        "concurrent_faces_per_s": count / concurrent_s,
        "ideal_s": pages / (concurrency / latency),
        "sequential_pages_measured": seq_pages,
        "sequential_measured_s": seq_s,
        "sequential_total_s": sequential_total_s,
        "speedup": sequential_total_s / concurrent_s,
    }
