"""Public names renamed in this release keep a deprecated alias that warns."""

from __future__ import annotations

import pytest

from sunmi_face_async import AsyncSunmiFace


async def test_client_store_is_a_deprecated_alias_of_shop() -> None:
    async with AsyncSunmiFace("APP", "key-0000", sunmi_shop_no="100939020409") as client:
        assert client.shop == {"sunmi_shop_no": "100939020409"}
        with pytest.warns(
            DeprecationWarning,
            match=r"AsyncSunmiFace\.store is deprecated; use AsyncSunmiFace\.shop",
        ):
            old = client.store
        assert old == {"sunmi_shop_no": "100939020409"}
        other = client.with_shop(shop_id="7948")
        with pytest.warns(DeprecationWarning, match=r"use AsyncSunmiFace\.shop"):
            assert other.store == other.shop == {"shop_id": "7948"}


def test_fake_cloud_store_and_gate_are_deprecated_aliases() -> None:
    from sunmi_face_async.testing import FakeSunmiCloud

    cloud = FakeSunmiCloud()
    with pytest.warns(DeprecationWarning, match=r"use FakeSunmiCloud\.shop_state\(\)"):
        state = cloud.store()
    assert state is cloud.shop_state()
    with pytest.warns(DeprecationWarning, match=r"use FakeSunmiCloud\.gateway"):
        gateway = cloud.gate
    assert gateway is cloud.gateway


async def test_fake_server_store_settings_is_a_deprecated_alias_of_shop_settings() -> None:
    from sunmi_face_async.testing import FakeCloudServer

    async with FakeCloudServer(port=0) as server:
        settings = await server.shop_settings()
        assert settings == {"move_strategy": None, "hooks": {}}
        with pytest.warns(DeprecationWarning, match=r"use FakeCloudServer\.shop_settings\(\)"):
            old = await server.store_settings()
        assert old == settings
