"""The fake's gateway, driven by raw httpx requests signed here (not by the package).

This shows the gatekeeping does not depend on the client being right: the requests are signed
by ``tests._reference``, which ``tests/test_reference.py`` holds to the vendor's worked examples.
"""

from __future__ import annotations

import time

import httpx
import pytest

from sunmi_face_async.testing import FakeSunmiCloud
from tests._reference import reference_sign

from .helpers import APP_ID, APP_KEY, IN_PROCESS_URL, PNG, RawApi, Surface


async def test_a_correctly_signed_request_succeeds(raw: RawApi) -> None:
    envelope = await raw.call("/face/group/getList")
    assert envelope["code"] == 0
    assert [g["group_name"] for g in envelope["data"]["group_list"]] == [
        "stranger",
        "regular",
        "employee",
    ]


async def test_a_wrong_signature_is_refused_and_changes_nothing(raw: RawApi) -> None:
    form = raw.signed({**raw.common(), "name": "VIP", "type": "5"}, secret="not-the-secret")
    response = await raw.post("/face/group/create", form)
    assert response.json()["code"] == 5090
    tampered = raw.signed({**raw.common(), "name": "VIP", "type": "5"})
    tampered["name"] = "VIP2"
    assert (await raw.post("/face/group/create", tampered)).json()["code"] == 5090
    listed = await raw.call("/face/group/getList")
    assert len(listed["data"]["group_list"]) == 3


async def test_signature_failures_can_be_http_401() -> None:
    cloud = FakeSunmiCloud(auth_failure="http401")
    async with httpx.AsyncClient(base_url=IN_PROCESS_URL, transport=cloud.transport()) as http:
        raw = RawApi(http, "560279010307")
        response = await raw.post("/face/group/getList", raw.signed(raw.common(), "bad"))
        assert response.status_code == 401


async def test_an_old_timestamp_is_refused(raw: RawApi) -> None:
    old = str(int(time.time()) - 3600)
    response = await raw.post("/face/group/getList", raw.signed(raw.common(timestamp=old)))
    assert response.json()["code"] == 5091


async def test_the_timestamp_window_edges_and_nonce_expiry() -> None:
    now = [1_700_000_000.0]
    cloud = FakeSunmiCloud(clock=lambda: now[0], timestamp_window=600)
    async with httpx.AsyncClient(base_url=IN_PROCESS_URL, transport=cloud.transport()) as http:
        raw = RawApi(http, "560279010307")

        async def code(stamp: int, nonce: str) -> int:
            form = raw.signed(raw.common(timestamp=str(stamp), random=nonce))
            result: int = (await raw.post("/face/group/getList", form)).json()["code"]
            return result

        assert await code(1_700_000_000 - 600, "edgeA1") == 0
        assert await code(1_700_000_000 + 600, "edgeB1") == 0
        assert await code(1_700_000_000 - 601, "edgeC1") == 5091
        assert await code(1_700_000_000 + 601, "edgeD1") == 5091
        assert await code(1_700_000_000, "edgeA1") == 5092  # reused within the window
        assert len(cloud.gateway.nonces) == 2
        now[0] += 2000  # every remembered nonce has expired
        assert await code(1_700_002_000, "edgeA1") == 0
        assert len(cloud.gateway.nonces) == 1


@pytest.mark.parametrize("nonce", ["abc12", "abcdefghijk", "abc-123", "ab cd12"])
async def test_a_malformed_random_is_refused(raw: RawApi, nonce: str) -> None:
    response = await raw.post("/face/group/getList", raw.signed(raw.common(random=nonce)))
    assert response.json()["code"] == 5092


async def test_a_reused_random_is_refused(raw: RawApi) -> None:
    params = raw.common(random="Same1234")
    first = await raw.post("/face/group/getList", raw.signed(params))
    second = await raw.post("/face/group/getList", raw.signed({**params, "page": "x"}))
    assert (first.json()["code"], second.json()["code"]) == (0, 5092)


async def test_shop_and_integrator(raw: RawApi) -> None:
    no_shop = raw.common()
    del no_shop["sunmi_shop_no"]
    assert (await raw.post("/face/group/getList", raw.signed(no_shop))).json()["code"] == 5041
    stranger = raw.common(app_id="SOMEONEELSE1")
    assert (await raw.post("/face/group/getList", raw.signed(stranger))).json()["code"] == 5041
    legacy = raw.common(shop_id=raw.shop_no)
    del legacy["sunmi_shop_no"]
    await raw.call("/face/group/create", name="VIP", type="5")
    listed = (await raw.post("/face/group/getList", raw.signed(legacy))).json()
    assert "VIP" in [g["group_name"] for g in listed["data"]["group_list"]]


async def test_missing_and_malformed_parameters(raw: RawApi) -> None:
    assert (await raw.call("/face/group/getInfo"))["code"] == 5020
    assert (await raw.call("/face/group/create", name="VIP", type="x"))["code"] == 5020
    assert (await raw.call("/face/group/create", name="VIP", type="5", capacity="1e3"))[
        "code"
    ] == 5020
    assert (await raw.call("/face/group/create", name="", type="5"))["code"] == 5020
    assert (await raw.call("/face/group/create", name="x" * 33, type="5"))["code"] == 5020
    stranger = (await raw.call("/face/group/getList"))["data"]["group_list"][0]["group_id"]
    for bad_list in ("578968751459", "[]", "[1, 2]", "not json"):
        envelope = await raw.call("/face/delete", group_id=stranger, face_id_list=bad_list)
        assert envelope["code"] == 5020
    no_stamp = raw.common()
    del no_stamp["timestamp"]
    assert (await raw.post("/face/group/getList", raw.signed(no_stamp))).json()["code"] == 5020


async def test_face_add_checks_the_picture(raw: RawApi, surface: Surface) -> None:
    group_id = await raw.create_group("VIP")
    assert (await raw.add_face(group_id, pic=b"GIF89a" + bytes(100)))["code"] == 5020
    assert (await raw.call("/face/add", group_id=group_id))["code"] == 5020  # no pic at all
    added = await raw.add_face(group_id, pic=PNG, name="Mike", gender="1")
    assert added["code"] == 0
    assert [f["face_id"] for f in await surface.faces_in(group_id)] == [added["data"]["face_id"]]
    assert (await raw.add_face(group_id, gender="3"))["code"] == 5020


async def test_a_body_over_one_megabyte_is_refused(raw: RawApi, surface: Surface) -> None:
    group_id = await raw.create_group("VIP")
    big = b"\x89PNG\r\n\x1a\n" + bytes(1024 * 1024)
    form = raw.signed({**raw.common(), "group_id": group_id})
    response = await raw.http.post("/face/add", data=form, files={"pic": ("a.png", big)})
    assert response.status_code == 413
    assert await surface.faces_in(group_id) == []


async def test_unknown_paths_and_methods(raw: RawApi) -> None:
    assert (await raw.post("/face/nothing", raw.signed(raw.common()))).status_code == 404
    assert (await raw.http.get("/face/group/getList")).status_code == 405


async def test_the_sign_ignores_the_picture(raw: RawApi) -> None:
    group_id = await raw.create_group("VIP")
    params = {**raw.common(), "group_id": group_id}
    form = {**params, "sign": reference_sign(params, APP_KEY)}
    assert form["app_id"] == APP_ID
    response = await raw.http.post("/face/add", data=form, files={"pic": ("f.png", PNG)})
    assert response.json()["code"] == 0
