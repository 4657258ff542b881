"""Form and multipart bodies decode back to exactly what was given, whatever the values hold."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sunmi_face_async._transport import _form, _multipart

from .helpers import BMP, FORM, JPEG, PNG, form_fields, multipart_fields

field_names = st.sampled_from(
    ["group_id", "name", "customer_value1", "customer_value5", "app_id", "random", "sign"]
)
texts = st.text(st.characters(codec="utf-8"), max_size=40)


def as_request(body: bytes, content_type: str) -> httpx.Request:
    return httpx.Request(
        "POST", "https://x/face/add", content=body, headers={"Content-Type": content_type}
    )


@settings(max_examples=100)
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


@settings(max_examples=100)
@given(fields=st.dictionaries(field_names, texts, max_size=7))
def test_form_round_trip(fields: dict[str, str]) -> None:
    body = _form(fields)
    assert body.isascii()
    assert form_fields(as_request(body, FORM)) == fields


def test_form_quotes_only_what_needs_it() -> None:
    body = _form({"a": "AZaz09_.~-", "b": "x y&z=1+2%", "c": "", "d": "张"})
    assert body == b"a=AZaz09_.~-&b=x+y%26z%3D1%2B2%25&c=&d=%E5%BC%A0"
