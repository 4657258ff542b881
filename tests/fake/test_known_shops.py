"""A fake that knows its stores: a mistyped store number is answered 5041, as the vendor
answers a store the integrator does not have, instead of a fresh store with default groups."""

from __future__ import annotations

import pytest

from sunmi_face_async import ShopNotFoundError
from sunmi_face_async.testing import FakeCloudServer, FakeSunmiCloud

OWN = "560279010307"
OTHER = "560279010399"
TYPO = "560279010398"


async def test_declared_shops_answer_and_any_other_is_5041() -> None:
    cloud = FakeSunmiCloud(shop_no=OWN, shops=[OTHER])
    async with cloud.client() as client:
        assert len(await client.groups.list()) == 3  # its own store, default groups
        assert len(await client.with_shop(sunmi_shop_no=OTHER).groups.list()) == 3
        with pytest.raises(ShopNotFoundError) as caught:
            await client.with_shop(sunmi_shop_no=TYPO).groups.list()
    assert caught.value.code == 5041
    assert not cloud.knows(TYPO)


async def test_without_declared_shops_every_store_is_made_on_first_use() -> None:
    cloud = FakeSunmiCloud(shop_no=OWN)
    async with cloud.client() as client:
        assert len(await client.with_shop(sunmi_shop_no=TYPO).groups.list()) == 3


async def test_the_server_takes_its_known_shops_as_options() -> None:
    server = FakeCloudServer(shop_no=OWN, known_shop=[OTHER])
    async with server, server.client() as client:
        assert len(await client.with_shop(sunmi_shop_no=OTHER).groups.list()) == 3
        with pytest.raises(ShopNotFoundError):
            await client.with_shop(sunmi_shop_no=TYPO).groups.list()
