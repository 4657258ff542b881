"""A small fault soak over real HTTP, on both backends: bulk enroll against the fake cloud's
server (a subprocess) answering 5xx, dropping connections before the reply, and applying an
upload and then dropping the connection. Over the wire a drop is the boundary this suite
is about: the request was written and the reply never came, so the outcome is unknown; bulk
enroll then looks the face up, and only an absent one is sent again.

The in-process soak (tests/soak) goes through an httpx transport and so cannot exercise a
backend; this one can.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import anyio
import pytest

from sunmi_face_async import RetryPolicy
from sunmi_face_async.bulk import FaceUpload, Outcome, enroll
from sunmi_face_async.testing import FakeCloudServer
from sunmi_face_async.testing.pictures import tiny_png
from tests._backends import BACKENDS

ITEMS = 150
SLOT = 2
SERVER_ERRORS = {500: 0.03, 503: 0.02}
FAULTS = {
    "error_rates": SERVER_ERRORS,
    "drop_rate": 0.03,
    "commit_then_timeout_rate": 0.02,
    "endpoints": ["/face/add"],
}


async def _tiny_sleep(seconds: float) -> None:
    await anyio.sleep(0)


def _key(index: int) -> str:
    return f"wire-{index:04d}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_enroll_over_http_with_drops_loses_and_duplicates_nothing(
    backend: str, tmp_path: Path
) -> None:
    async def main() -> tuple[dict[str, object], list[object], Counter[str], int, list[str]]:
        async with FakeCloudServer(seed=21) as server:
            retry = RetryPolicy(max_attempts=6, sleep=_tiny_sleep)
            async with server.client(timeout=5.0, retry=retry, backend=backend) as client:
                assert type(client._transport.connections).__name__ == (
                    "AiohttpPools" if backend == "aiohttp" else "Pools"
                )
                group = await client.groups.create("wire soak", capacity=ITEMS)
                await server.reset_stats()
                await server.set_faults(**FAULTS)
                uploads = [
                    FaceUpload(
                        group_id=group.group_id,
                        pic=tiny_png(i),
                        name=_key(i),
                        external_key=_key(i),
                    )
                    for i in range(ITEMS)
                ]
                job = enroll(
                    client,
                    uploads,
                    concurrency=16,
                    journal=tmp_path / "job.db",
                    external_key_slot=SLOT,
                )
                with anyio.fail_after(120):
                    async with job:
                        results = [result async for result in job]
                await server.set_faults(error_rates={}, drop_rate=0.0, commit_then_timeout_rate=0.0)
                stats = await server.stats(request_times=False)
                faces = await server.faces_in(group.group_id)
        keys = [face.customer_value(SLOT) for face in faces]
        sent = int(stats["requests_by_endpoint"]["/face/add"])
        return stats, results, Counter(stats["faults_injected"]), sent, keys

    _, results, faults, sent, server_keys = anyio.run(main)
    assert faults["drop"] > 0
    assert faults["commit_then_timeout"] > 0
    outcomes = Counter(result.outcome for result in results)  # type: ignore[attr-defined]
    assert outcomes == {Outcome.DONE: ITEMS}
    assert sorted(server_keys) == sorted(_key(i) for i in range(ITEMS))  # none lost, none twice
    # Uploads not applied (5xx, drops) were sent once more; applied ones never again.
    not_applied = sum(faults[f"http_{code}"] for code in SERVER_ERRORS) + faults["drop"]
    assert sent == ITEMS + not_applied
