"""The public homes of what the outer packages need from the core."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sunmi_face_async import ProtocolError
from sunmi_face_async.files import NotRegularFile, open_regular
from sunmi_face_async.models import AgeRange, Face, FaceGroup, GroupType, to_dict
from sunmi_face_async.paging import PageWalk
from sunmi_face_async.signing import FILE_FIELDS, is_valid_nonce, make_nonce


def test_face_from_wire_reads_the_wire_shape() -> None:
    face = Face.from_wire(
        {
            "face_id": 7,
            "name": "Ann",
            "age_range": "3",
            "create_time": 86400,
            "customer_key1": "x",
            "customer_value2": "v",
        }
    )
    assert face.face_id == "7"
    assert face.age_range is AgeRange.AGE_13_18
    assert face.create_time == datetime(1970, 1, 2, tzinfo=timezone.utc)
    assert face.customer_values == ("", "v")


def test_group_from_wire_reads_the_wire_shape_and_refuses_a_non_object() -> None:
    group = FaceGroup.from_wire({"group_id": "9", "type": 5, "customer_key1": "k"}, "getGroupList")
    assert group == FaceGroup(group_id="9", type=GroupType.CUSTOM, customer_keys=("k",))
    with pytest.raises(ProtocolError, match="getGroupList"):
        FaceGroup.from_wire([1], "getGroupList")


def test_to_dict_is_json_ready() -> None:
    face = Face(
        face_id="1",
        age_range=AgeRange.AGE_0_6,
        customer_values=("a", "b"),
        create_time=datetime(2020, 1, 1, tzinfo=timezone.utc),
    )
    out = to_dict(face)
    assert out["customer_values"] == ["a", "b"]
    assert out["age_range"] == 1
    assert type(out["age_range"]) is int
    assert out["create_time"] == "2020-01-01T00:00:00+00:00"


def test_the_other_public_homes_are_importable_and_work(tmp_path: object) -> None:
    assert "pic" in FILE_FIELDS
    assert is_valid_nonce(make_nonce())
    assert PageWalk(10).plan(3) == range(1, 2)
    with pytest.raises(NotRegularFile, match="a directory"):
        open_regular(str(tmp_path))
