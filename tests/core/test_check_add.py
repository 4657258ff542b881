"""``faces.check_add`` runs exactly the checks ``faces.add`` runs, without sending: the
same refusals (field and message) for the same input, the encoded body's 1 MB limit
included, and the size it reports is the size of the body ``add`` puts on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunmi_face_async import AsyncSunmiFace, RetryPolicy, ValidationError

LIMIT = 1024 * 1024  # the gateway's documented limit for a whole request body


def jpeg(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes(size - 4)


class Recorder:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        return httpx.Response(200, json={"code": 0, "msg": "", "data": {"face_id": "42"}})


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def api(recorder: Recorder) -> AsyncIterator[AsyncSunmiFace]:
    async with AsyncSunmiFace(
        "CHECKAPP",
        "check-key",
        sunmi_shop_no="560279010307",
        base_url="https://store.example.test/openapi",
        retry=RetryPolicy(max_attempts=1),
        transport=httpx.MockTransport(recorder),
    ) as client:
        yield client


async def _overhead(api: AsyncSunmiFace, recorder: Recorder, **fields: Any) -> int:
    """Bytes the multipart body adds to the picture, measured on the wire."""
    await api.faces.add("1", pic=jpeg(100), **fields)
    return len(recorder.bodies.pop()) - 100


async def test_the_reported_size_is_the_size_sent(api: AsyncSunmiFace, recorder: Recorder) -> None:
    fields: dict[str, Any] = {"name": "Mike", "gender": 1, "customer_values": ["vip", None, "x"]}
    size = await api.faces.check_add("1", pic=jpeg(5000), **fields)
    assert recorder.bodies == []  # checking sends nothing
    await api.faces.add("1", pic=jpeg(5000), **fields)
    assert size == len(recorder.bodies[0])


async def test_a_one_megabyte_picture_is_refused_by_both(
    api: AsyncSunmiFace, recorder: Recorder
) -> None:
    """1,048,576 bytes pass the picture's own check, but the encoded body is over 1 MB."""
    errors = []
    for method in (api.faces.check_add, api.faces.add):
        with pytest.raises(ValidationError) as caught:
            await method("1", pic=jpeg(LIMIT), name="Mike")
        errors.append(caught.value)
    assert recorder.bodies == []
    assert errors[0].field == errors[1].field == "pic"
    assert str(errors[0]) == str(errors[1])
    assert "request body would be" in str(errors[0])
    assert "the limit is 1 MB" in str(errors[0])


async def test_both_agree_at_the_exact_body_limit(api: AsyncSunmiFace, recorder: Recorder) -> None:
    overhead = await _overhead(api, recorder, name="Mike")
    largest = LIMIT - overhead
    assert await api.faces.check_add("1", pic=jpeg(largest), name="Mike") == LIMIT
    await api.faces.add("1", pic=jpeg(largest), name="Mike")
    assert len(recorder.bodies.pop()) == LIMIT
    for method in (api.faces.check_add, api.faces.add):
        with pytest.raises(ValidationError, match="pic: the request body would be"):
            await method("1", pic=jpeg(largest + 1), name="Mike")
    assert recorder.bodies == []


BAD_INPUT: dict[str, tuple[dict[str, Any], str]] = {
    "NUL in the name": ({"name": "Mi\x00ke"}, "name"),
    "NUL in a customer value": ({"customer_values": ["a\x00"]}, "customer_values[0]"),
    "lone surrogate in the name": ({"name": "Mi\ud800"}, "name"),
    "six customer values": ({"customer_values": ["a"] * 6}, "customer_values"),
    "unknown gender": ({"gender": 7}, "gender"),
    "unknown age range": ({"age_range": 99}, "age_range"),
    "empty group id": ({"group_id": " "}, "group_id"),
    "empty picture": ({"pic": b""}, "pic"),
    "not a picture": ({"pic": b"GIF89a" + bytes(10)}, "pic"),
    "missing file": ({"pic": "/nonexistent/face.jpg"}, "pic"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
async def test_both_refuse_the_same_input_the_same_way(
    case: str, api: AsyncSunmiFace, recorder: Recorder
) -> None:
    overrides, field = BAD_INPUT[case]
    arguments: dict[str, Any] = {"group_id": "1", "pic": jpeg(500), **overrides}
    group_id = arguments.pop("group_id")
    messages = []
    for method in (api.faces.check_add, api.faces.add):
        with pytest.raises(ValidationError) as caught:
            await method(group_id, **arguments)
        assert caught.value.field == field
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert recorder.bodies == []


async def test_a_picture_file_is_read_and_checked(
    api: AsyncSunmiFace, recorder: Recorder, tmp_path: Path
) -> None:
    path = tmp_path / "face.jpg"
    path.write_bytes(jpeg(LIMIT))
    with pytest.raises(ValidationError, match="request body would be"):
        await api.faces.check_add("1", pic=path)
    path.write_bytes(jpeg(900))
    assert await api.faces.check_add("1", pic=path) > 900
    assert recorder.bodies == []


async def test_check_add_works_on_a_closed_client(recorder: Recorder) -> None:
    api = AsyncSunmiFace(
        "CHECKAPP", "check-key", sunmi_shop_no="1", transport=httpx.MockTransport(recorder)
    )
    await api.aclose()
    assert await api.faces.check_add("1", pic=jpeg(300)) > 300
