"""The multipart body of /face/add decodes back to exactly what was given, whatever it holds."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sunmi_face_async._transport import _multipart

from .helpers import BMP, JPEG, PNG, multipart_fields

field_names = st.sampled_from(
    ["group_id", "name", "customer_value1", "customer_value5", "app_id", "random", "sign"]
)
texts = st.text(st.characters(codec="utf-8"), max_size=40)


def as_request(body: bytes, content_type: str) -> httpx.Request:
    return httpx.Request(
        "POST", "https://x/face/add", content=body, headers={"Content-Type": content_type}
    )


@settings(max_examples=150)
@given(
    fields=st.dictionaries(field_names, texts, max_size=7),
    magic=st.sampled_from([JPEG, PNG, BMP]),
    tail=st.binary(max_size=300),
)
def test_multipart_round_trip(fields: dict[str, str], magic: bytes, tail: bytes) -> None:
    picture = magic + tail
    body, content_type = _multipart(fields, picture)
    decoded_texts, files = multipart_fields(as_request(body, content_type))
    assert decoded_texts == fields
    assert list(files) == ["pic"]
    assert files["pic"].data == picture
    assert files["pic"].filename


def test_a_fresh_boundary_each_time() -> None:
    first = _multipart({"a": "1"}, JPEG)[1]
    second = _multipart({"a": "1"}, JPEG)[1]
    assert first != second


def test_a_value_holding_crlf_and_dashes_survives() -> None:
    value = "line one\r\n--not-a-boundary\r\nline two"
    body, content_type = _multipart({"name": value}, JPEG)
    texts, files = multipart_fields(as_request(body, content_type))
    assert texts == {"name": value}
    assert files["pic"].data == JPEG
