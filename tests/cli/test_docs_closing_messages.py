"""The closing messages quoted in docs/client.md are the ones the client raises.

A client with one connection, over loopback to ``sunmi-face fake-server``: the call in
flight, two calls queued for the connection, then ``aclose()``, then one more call.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sunmi_face_async import AsyncSunmiFace, ClientClosedError

from ._proc import Fake, fake

__all__ = ["fake"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def _documented() -> set[str]:
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    section = text[text.index("### Closing") : text.index("### Many stores")]
    return set(re.findall(r"`<endpoint>: ([^`]+)`", section))


def test_the_documented_closing_messages_are_the_raised_ones(fake: Fake) -> None:
    fake.set_faults(latency=0.5)

    async def scenario() -> tuple[list[str], str]:
        client = AsyncSunmiFace(
            fake.env["SUNMI_APP_ID"],
            fake.env["SUNMI_APP_KEY"],
            sunmi_shop_no=fake.env["SUNMI_SHOP_NO"],
            base_url=fake.env["SUNMI_BASE_URL"],
            max_connections=1,
        )
        calls = [asyncio.create_task(client.groups.list()) for _ in range(3)]
        await asyncio.sleep(0.2)  # one call in flight, two waiting for the connection
        await client.aclose()
        cut: list[str] = []
        for call in calls:
            try:
                await call
            except ClientClosedError as exc:
                cut.append(str(exc).split(": ", 1)[1])
        try:
            await client.groups.list()
        except ClientClosedError as exc:
            return cut, str(exc).split(": ", 1)[1]
        raise AssertionError("a call after aclose() was sent")

    cut, after = asyncio.run(scenario())
    documented = _documented()
    queued = "the client was closed during the call; the request was not sent"
    assert cut.count(queued) == 2, cut
    assert "the client was closed during the call; the outcome is unknown" in cut
    assert set(cut) | {after} <= documented, (cut, after, documented)
    assert after in documented
