"""Bad input is refused before anything is sent, with a ValidationError naming the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import respx

from sunmi_face_async import AsyncSunmiFace, ValidationError

from .helpers import APP_ID, APP_KEY, JPEG, PNG

ONE_MB = 1024 * 1024
Call = Callable[[AsyncSunmiFace], Awaitable[object]]

CASES: list[tuple[str, Call, str]] = [
    ("empty group id", lambda c: c.groups.get(""), "group_id"),
    ("blank group id", lambda c: c.groups.get("   "), "group_id"),
    ("int group id", lambda c: c.groups.get(578968814328), "group_id"),  # type: ignore[arg-type]
    ("None group id", lambda c: c.groups.delete(None), "group_id"),  # type: ignore[arg-type]
    ("empty face id", lambda c: c.faces.get(""), "face_id"),
    ("update face id", lambda c: c.faces.update("g", "", name="x"), "face_id"),
    ("update group id", lambda c: c.faces.update("", "f"), "group_id"),
    ("create name", lambda c: c.groups.create(""), "name"),
    ("create type", lambda c: c.groups.create("VIP", type=9), "type"),
    ("create type 0", lambda c: c.groups.create("VIP", type=0), "type"),
    ("create type bool", lambda c: c.groups.create("VIP", type=True), "type"),
    ("create capacity", lambda c: c.groups.create("VIP", capacity=0), "capacity"),
    (
        "six customer keys",
        lambda c: c.groups.create("VIP", customer_keys=["a"] * 6),
        "customer_keys",
    ),
    (
        "customer keys as a string",
        lambda c: c.groups.create("VIP", customer_keys="vip"),
        "customer_keys",
    ),
    (
        "non-string customer key",
        lambda c: c.groups.update("g", customer_keys=["a", 5]),  # type: ignore[list-item]
        "customer_keys[1]",
    ),
    ("update empty name", lambda c: c.groups.update("g", name=""), "name"),
    ("page_num 0", lambda c: c.groups.list_faces("g", page_num=0), "page_num"),
    ("page_size 0", lambda c: c.groups.list_faces("g", page_size=0), "page_size"),
    ("page_size 101", lambda c: c.groups.list_faces("g", page_size=101), "page_size"),
    ("page_size str", lambda c: c.groups.list_faces("g", page_size="10"), "page_size"),  # type: ignore[arg-type]
    ("move no ids", lambda c: c.groups.move_faces("a", "b", []), "face_ids"),
    ("move id string", lambda c: c.groups.move_faces("a", "b", "123"), "face_ids"),
    ("move empty id", lambda c: c.groups.move_faces("a", "b", ["1", ""]), "face_ids[1]"),
    ("move source", lambda c: c.groups.move_faces("", "b", ["1"]), "source_group_id"),
    ("move target", lambda c: c.groups.move_faces("a", "", ["1"]), "target_group_id"),
    ("delete no ids", lambda c: c.faces.delete("g", []), "face_ids"),
    (
        "threshold 0",
        lambda c: c.groups.update_move_strategy(target_group_id="t", threshold=0, period=60),
        "threshold",
    ),
    (
        "period 0",
        lambda c: c.groups.update_move_strategy(target_group_id="t", threshold=1, period=0),
        "period",
    ),
    (
        "period negative",
        lambda c: c.groups.update_move_strategy(
            target_group_id="t", threshold=1, period=timedelta(seconds=-5)
        ),
        "period",
    ),
    (
        "period string",
        lambda c: c.groups.update_move_strategy(
            target_group_id="t",
            threshold=1,
            period="7d",  # type: ignore[arg-type]
        ),
        "period",
    ),
    (
        "period nan",
        lambda c: c.groups.update_move_strategy(
            target_group_id="t", threshold=1, period=float("nan")
        ),
        "period",
    ),
    (
        "period inf",
        lambda c: c.groups.update_move_strategy(
            target_group_id="t", threshold=1, period=float("inf")
        ),
        "period",
    ),
    (
        "strategy target",
        lambda c: c.groups.update_move_strategy(target_group_id="", threshold=1, period=60),
        "target_group_id",
    ),
    ("gender 3", lambda c: c.faces.update("g", "f", gender=3), "gender"),
    ("age range -1", lambda c: c.faces.update("g", "f", age_range=-1), "age_range"),
    ("age range 9", lambda c: c.faces.update("g", "f", age_range=9), "age_range"),
    (
        "six values",
        lambda c: c.faces.update("g", "f", customer_values=["v"] * 6),
        "customer_values",
    ),
    ("add group", lambda c: c.faces.add("", pic=JPEG), "group_id"),
    ("add gender", lambda c: c.faces.add("g", pic=JPEG, gender=-1), "gender"),
    (
        "add six values",
        lambda c: c.faces.add("g", pic=JPEG, customer_values=["v"] * 6),
        "customer_values",
    ),
    ("add empty picture", lambda c: c.faces.add("g", pic=b""), "pic"),
    ("add gif", lambda c: c.faces.add("g", pic=b"GIF89a\x01\x00"), "pic"),
    ("add text", lambda c: c.faces.add("g", pic=b"hello"), "pic"),
    ("add too big", lambda c: c.faces.add("g", pic=JPEG + b"\0" * ONE_MB), "pic"),
    ("add not a picture type", lambda c: c.faces.add("g", pic=12345), "pic"),  # type: ignore[arg-type]
    ("add missing file", lambda c: c.faces.add("g", pic=Path("/nonexistent/face.jpg")), "pic"),
    ("add a directory", lambda c: c.faces.add("g", pic="/"), "pic"),
    ("hook url", lambda c: c.hooks.add("ftp://x", [1]), "http_callback"),
    ("hook no events", lambda c: c.hooks.add("https://x", []), "events"),
    ("hook bad event", lambda c: c.hooks.add("https://x", [0]), "events[0]"),
]


@pytest.mark.parametrize(("call", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_refused_before_sending(
    client: AsyncSunmiFace, router: respx.MockRouter, call: Call, field: str
) -> None:
    anything = router.route()
    with pytest.raises(ValidationError) as caught:
        await call(client)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert anything.call_count == 0


async def test_picture_of_exactly_one_mb_is_refused_as_a_body_over_one_mb(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    """The picture alone passes the 1 MB check, but the whole body would not: nothing is sent."""
    anything = router.route()
    picture = PNG + b"\0" * (ONE_MB - len(PNG))
    with pytest.raises(ValidationError) as caught:
        await client.faces.add("g", pic=picture)
    assert caught.value.field == "pic"
    assert "body" in caught.value.problem
    assert anything.call_count == 0


async def test_oversized_file_is_refused(
    client: AsyncSunmiFace, router: respx.MockRouter, tmp_path: Path
) -> None:
    anything = router.route()
    path = tmp_path / "big.jpg"
    path.write_bytes(JPEG + b"\0" * ONE_MB)
    with pytest.raises(ValidationError, match="limit is 1 MB"):
        await client.faces.add("g", pic=path)
    assert anything.call_count == 0


async def test_text_mode_file_is_refused(
    client: AsyncSunmiFace, router: respx.MockRouter, tmp_path: Path
) -> None:
    anything = router.route()
    path = tmp_path / "face.txt"
    path.write_text("not binary")
    with path.open() as stream, pytest.raises(ValidationError, match="binary"):
        await client.faces.add("g", pic=stream)  # type: ignore[arg-type]
    assert anything.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "sunmi_shop_no"),
        ({"sunmi_shop_no": ""}, "sunmi_shop_no"),
        ({"shop_id": "  "}, "shop_id"),
        ({"sunmi_shop_no": 560279010307}, "sunmi_shop_no"),
        ({"sunmi_shop_no": "1", "base_url": "store.sunmi.com"}, "base_url"),
        ({"sunmi_shop_no": "1", "max_connections": 0}, "max_connections"),
        ({"sunmi_shop_no": "1", "max_connections": 2.5}, "max_connections"),
        ({"sunmi_shop_no": "1", "max_connections": True}, "max_connections"),
    ],
)
def test_constructor_checks(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AsyncSunmiFace(APP_ID, APP_KEY, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("app_id", "app_key", "field"), [("", APP_KEY, "app_id"), (APP_ID, "", "app_key")]
)
def test_credentials_must_be_given(app_id: str, app_key: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AsyncSunmiFace(app_id, app_key, sunmi_shop_no="1")
    assert caught.value.field == field


async def test_http_client_and_transport_are_exclusive() -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        with pytest.raises(ValidationError) as caught:
            AsyncSunmiFace(
                APP_ID,
                APP_KEY,
                sunmi_shop_no="1",
                http_client=http,
                transport=httpx.MockTransport(lambda r: httpx.Response(200)),
            )
    assert caught.value.field == "transport"


def test_with_shop_checks_the_store(client: AsyncSunmiFace) -> None:
    with pytest.raises(ValidationError) as caught:
        client.with_shop()
    assert caught.value.field == "sunmi_shop_no"
    with pytest.raises(ValidationError):
        client.with_shop(sunmi_shop_no="")


async def test_boundaries_that_are_accepted(
    client: AsyncSunmiFace, router: respx.MockRouter
) -> None:
    from .helpers import ok

    router.post("/face/group/getFaceList").mock(return_value=ok({"face_list": [], "total_num": 0}))
    router.post("/face/group/updateMoveStrategy").mock(return_value=ok())
    router.post("/face/update").mock(return_value=ok())
    router.post("/face/add").mock(return_value=ok({"face_id": "1"}))
    await client.groups.list_faces("g", page_num=1, page_size=1)
    await client.groups.list_faces("g", page_num=10**6, page_size=100)
    await client.groups.update_move_strategy(target_group_id="t", threshold=1, period=1)
    await client.faces.update("g", "f", customer_values=["1", "2", "3", "4", "5"])
    await client.faces.update("g", "f", gender=0, age_range=1)
    # A picture just under the limit that keeps the whole body within 1 MB is sent.
    await client.faces.add("g", pic=JPEG + b"\0" * (ONE_MB - 4096))
