"""Behaviour the issue or DESIGN.md asks for that the package does not have yet.

Each test is marked ``xfail(strict=True)``: the suite stays green while the bug is open, and
the test turns red (XPASS) the moment the bug is fixed, as a reminder to drop the marker.
"""

from __future__ import annotations

import httpx
import pytest
import respx

import sunmi_face_async as sf
from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async._retry import parse_retry_after

from .helpers import Jitter, Sleeps, fail, ok


@pytest.mark.xfail(
    strict=True,
    reason="_retry.next_delay uses Retry-After only for HTTP 429, not for a 503 that sends it",
)
async def test_retry_after_is_honoured_on_503(
    client: AsyncSunmiFace, router: respx.MockRouter, sleeps: Sleeps, jitter: Jitter
) -> None:
    router.post("/face/group/getList").mock(
        side_effect=[
            httpx.Response(503, text="maintenance", headers={"Retry-After": "5"}),
            ok({"group_list": []}),
        ]
    )
    await client.groups.list()
    assert sleeps == [5.0]  # today: [0.25], the jittered backoff
    assert jitter == []


@pytest.mark.xfail(
    strict=True,
    reason="groups.create raises the lookup's error, hiding the create's unknown outcome",
)
async def test_create_keeps_its_unknown_outcome_when_the_lookup_fails(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/create").mock(return_value=httpx.Response(502, text="bad gateway"))
    router.post("/face/group/getList").mock(return_value=fail(5041, "no shop"))
    with pytest.raises(sf.SunmiError) as caught:
        await client.groups.create("VIP")
    # The caller must learn that the group may exist; today it gets ShopNotFoundError from
    # /face/group/getList with outcome_unknown=False.
    assert getattr(caught.value, "outcome_unknown", False) is True
    assert caught.value.endpoint == "/face/group/create"  # type: ignore[attr-defined]


@pytest.mark.xfail(
    strict=True,
    reason="parse_retry_after('nan') returns nan, so the retry goes at once without backoff",
)
def test_retry_after_nan_is_ignored() -> None:
    assert parse_retry_after("nan") is None
