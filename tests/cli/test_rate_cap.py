"""``enroll --rate R`` is a true maximum: uploads start at least 1/R s apart, no burst.

Before, the limiter allowed a burst of ``--concurrency`` requests at once: ``--rate 2
--concurrency 16`` sent 16 uploads in its first instant. The fake's request arrival times
are counted over every half-second window: at most 1 + R/2 uploads (plus one lookup and one
for the network's jitter) may fall in one.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import httpx

from sunmi_face_async.testing.pictures import write_faces

from ._proc import Fake, fake, run

__all__ = ["fake"]

RATE = 8.0
WINDOW = 0.5


def test_rate_is_a_maximum_with_no_burst(fake: Fake, tmp_path: Path) -> None:
    write_faces(tmp_path / "pics", 20)
    assert run(["groups", "create", "R"], fake, tmp_path).returncode == 0
    fake.reset_stats()
    args = ["enroll", "pics", "--group", "R", "--no-journal", "--concurrency", "16"]
    done = run([*args, "--rate", str(RATE)], fake, tmp_path)
    assert done.returncode == 0, done.stderr
    times = sorted(httpx.get(fake.admin + "/stats", timeout=10).json()["request_times"])
    assert fake.requests("/face/add") == 20
    busiest = max(bisect.bisect_left(times, t + WINDOW) - i for i, t in enumerate(times))
    allowed = 1 + RATE * WINDOW  # GCRA with no burst, over any window
    assert busiest <= allowed + 2, f"{busiest} requests within {WINDOW} s"
    assert times[-1] - times[0] >= (20 - 1) / RATE - 0.2  # 20 uploads take 19 intervals


def test_the_help_says_what_rate_is(fake: Fake, tmp_path: Path) -> None:
    shown = run(["enroll", "--help"], None, tmp_path)
    text = " ".join(shown.stdout.split())
    assert "At most this many uploads per second (retries included) over any interval" in text
    assert "no burst" in text
