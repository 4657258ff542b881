"""Regression tests for bugs found by review: Retry-After on 5xx, NaN Retry-After, and a
create whose unknown outcome must survive a failing lookup."""

from __future__ import annotations

import httpx
import pytest
import respx

import sunmi_face_async as sf
from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async._retry import parse_retry_after

from .helpers import Jitter, Sleeps, fail, ok


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
    assert sleeps == [5.0]
    assert jitter == []


async def test_create_keeps_its_unknown_outcome_when_the_lookup_fails(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    router.post("/face/group/create").mock(return_value=httpx.Response(502, text="bad gateway"))
    router.post("/face/group/getList").mock(return_value=fail(5041, "no shop"))
    with pytest.raises(sf.SunmiError) as caught:
        await client.groups.create("VIP")
    # The caller must learn that the group may exist, not the lookup's ShopNotFoundError.
    assert getattr(caught.value, "outcome_unknown", False) is True
    assert caught.value.endpoint == "/face/group/create"  # type: ignore[attr-defined]


def test_retry_after_nan_is_ignored() -> None:
    assert parse_retry_after("nan") is None
