"""The tests' reference signer reproduces the vendor's two worked examples, so every suite
may check signs against it."""

from __future__ import annotations

from pathlib import Path

from tests._reference import canonical_text, reference_sign

KEY = "TESTSECRET0123456789"
# The vendor's worked examples, values as they go on the wire, with the signs it prints.
DELETE = {
    "app_id": "LMWWQVTW4QGCC",
    "face_id_list": '["578968751459","578968751460"]',
    "group_id": "578968813726",
    "random": "5dsf6698",
    "sunmi_shop_no": "560279010307",
    "timestamp": "1581383983",
}
CREATE = {
    "type": "5",
    "timestamp": "1581383983",
    "sunmi_shop_no": "560279010307",
    "random": "5dsf6698",
    "name": "张三 Mike",
    "capacity": "1000",
    "app_id": "LMWWQVTW4QGCC",
}


def test_the_delete_example() -> None:
    assert canonical_text(DELETE) == (
        'app_id=LMWWQVTW4QGCC&face_id_list=["578968751459","578968751460"]'
        "&group_id=578968813726&random=5dsf6698&sunmi_shop_no=560279010307&timestamp=1581383983"
    )
    assert reference_sign(DELETE, KEY) == "34F61DF1222F1DF6AFDBCE930124F07D"


def test_the_create_example_with_unicode_in_any_key_order() -> None:
    assert reference_sign(CREATE, KEY) == "ED85397FD2FECF388727E04712D23F9E"


def test_the_sign_and_the_picture_are_not_signed() -> None:
    with_extras = {**DELETE, "sign": "ANYTHING", "pic": "\xff\xd8 bytes"}
    assert reference_sign(with_extras, KEY) == "34F61DF1222F1DF6AFDBCE930124F07D"


def test_the_key_and_every_value_count() -> None:
    assert reference_sign(DELETE, KEY + "x") != reference_sign(DELETE, KEY)
    assert reference_sign({**DELETE, "random": "5dsf6699"}, KEY) != reference_sign(DELETE, KEY)


def test_the_reference_never_imports_the_package() -> None:
    source = (Path(__file__).parent / "_reference.py").read_text(encoding="utf-8")
    assert "sunmi_face_async" not in source
