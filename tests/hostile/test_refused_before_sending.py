"""Input the client must refuse before anything is sent (found by fuzzing; each failed before
its fix): lone surrogates, a group without a type, unusable picture sources, form bodies over
1 MB, and wrongly typed constructor options."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from sunmi_face_async import (
    AsyncSunmiFace,
    RetryPolicy,
    ValidationError,
)

JPEG = b"\xff\xd8\xff\xe0" + bytes(100)


async def _no_sleep(seconds: float) -> None:
    return None


def make_client(body: bytes, requests: list[httpx.Request]) -> AsyncSunmiFace:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=body)

    return AsyncSunmiFace(
        "APP01",
        "regression-key",
        sunmi_shop_no="560279010307",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(sleep=_no_sleep),
    )


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.groups.create("VIP\ud800"), id="create-name"),
        pytest.param(lambda c: c.groups.get("g\udfff"), id="get-group-id"),
        pytest.param(lambda c: c.faces.update("g1", "f1", name="\ud83d"), id="update-name"),
        pytest.param(lambda c: c.faces.add("g1", pic=JPEG, name="\ud800"), id="add-name"),
        pytest.param(lambda c: c.faces.delete("g1", ["f\ud800"]), id="delete-ids"),
    ],
)
async def test_lone_surrogates_are_validation_errors_and_nothing_is_sent(call: Any) -> None:
    # Today: UnicodeEncodeError from sign_params / the body encoder, after validation passed.
    requests: list[httpx.Request] = []
    async with make_client(b'{"code": 0, "data": {}}', requests) as client:
        with pytest.raises(ValidationError):
            await call(client)
    assert requests == []


async def test_create_without_a_type_is_refused() -> None:
    # type is required by /face/group/create; type=None passes enum_value() and the request
    # goes out without it.
    requests: list[httpx.Request] = []
    async with make_client(b'{"code": 0, "data": {}}', requests) as client:
        with pytest.raises(ValidationError, match="type"):
            await client.groups.create("VIP", type=None)  # type: ignore[arg-type]
    assert requests == []


@pytest.mark.parametrize(
    "pic",
    [
        pytest.param("face\x00.jpg", id="nul-in-path"),
        pytest.param(io.BytesIO(JPEG), id="closed-file"),
    ],
)
async def test_unusable_picture_sources_are_validation_errors(pic: Any) -> None:
    # Today: ValueError("embedded null byte") from open(), ValueError("I/O operation on
    # closed file") from read(); pictures.py catches only OSError.
    if isinstance(pic, io.BytesIO):
        pic.close()
    requests: list[httpx.Request] = []
    async with make_client(b'{"code": 0, "data": {}}', requests) as client:
        with pytest.raises(ValidationError):
            await client.faces.add("g1", pic=pic)
    assert requests == []


async def test_form_request_over_1_mb_is_refused_before_sending() -> None:
    # The vendor's limit: the whole body must stay at or under 1 MB. Multipart bodies are checked;
    # form bodies are sent whatever their size.
    requests: list[httpx.Request] = []
    async with make_client(b'{"code": 0, "data": {}}', requests) as client:
        with pytest.raises(ValidationError):
            await client.groups.update("g1", description="x" * (2 * 1024 * 1024))
        with pytest.raises(ValidationError):
            await client.faces.delete("g1", [f"{i:012d}" for i in range(80_000)])
    assert requests == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retry", 5),
        ("timeout", "abc"),
        ("timeout", float("nan")),
        ("http_client", "not a client"),
        ("transport", "not a transport"),
    ],
)
def test_constructor_refuses_wrongly_typed_options(field: str, value: object) -> None:
    # Today these are accepted and fail at the first call with AttributeError / TypeError /
    # ValueError (and transport="x" also makes aclose() raise AttributeError).
    with pytest.raises(ValidationError) as caught:
        AsyncSunmiFace("APP01", "key", sunmi_shop_no="1", **{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field
