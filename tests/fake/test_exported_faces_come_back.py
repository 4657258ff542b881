"""What the library gives out, it takes back: an exported face can be added again as it is.

A face whose age range was never set is listed with ``age_range`` 0, which is no documented
``AgeRange``; ``faces.add`` and ``faces.update`` take 0 as "unset" and do not send it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest

from sunmi_face_async import AgeRange, AsyncSunmiFace, Gender, RetryPolicy, ValidationError
from sunmi_face_async.bulk import export_faces

from .helpers import PNG


async def test_an_exported_face_with_no_age_range_is_added_back(client: AsyncSunmiFace) -> None:
    source = await client.groups.create("Source", customer_keys=["level", "hobby"])
    target = await client.groups.create("Target", customer_keys=["level", "hobby"])
    await client.faces.add(
        source.group_id, pic=PNG, name="Ann", gender=Gender.FEMALE, customer_values=["gold", "x"]
    )
    (exported,) = [face async for face in export_faces(client, source.group_id)]
    assert exported.age_range == 0  # never set: the server reports 0

    await client.faces.add(
        target.group_id,
        pic=PNG,
        name=exported.name,
        gender=exported.gender,
        age_range=exported.age_range,
        customer_values=exported.customer_values,
    )
    (copy,) = [face async for face in export_faces(client, target.group_id)]
    assert (copy.name, copy.gender, copy.age_range, copy.customer_values) == (
        "Ann",
        Gender.FEMALE,
        0,
        ("gold", "x"),
    )


async def test_age_range_0_is_not_sent_and_other_non_members_are_refused() -> None:
    forms: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        forms.append(dict(parse_qsl(request.content.decode("ascii"))))
        return httpx.Response(200, json={"code": 0, "msg": "succeed", "data": {}})

    async with AsyncSunmiFace(
        "ROUNDTRIP0001",
        "round-trip-key-0123456789",
        sunmi_shop_no="560279010307",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        await client.faces.update("g", "f", name="Ann", age_range=AgeRange(0))
        await client.faces.update("g", "f", age_range=0)
        await client.faces.update("g", "f", age_range=AgeRange.AGE_19_28)
        for bad in (False, 9, -1, 0.0, "0"):
            with pytest.raises(ValidationError) as caught:
                await client.faces.update("g", "f", age_range=bad)  # type: ignore[arg-type]
            assert caught.value.field == "age_range"
    assert ["age_range" in form for form in forms] == [False, False, True]
    assert forms[2]["age_range"] == "4"
