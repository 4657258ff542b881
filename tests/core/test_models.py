"""Records: the vendor's sample replies, wire-to-model conversion, open enums, frozen classes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import attrs
import httpx
import pytest
import respx

from sunmi_face_async import (
    AgeRange,
    AsyncSunmiFace,
    Face,
    FaceGroup,
    FacePage,
    Gender,
    GroupType,
    ProtocolError,
)
from sunmi_face_async._convert import (
    parse_face,
    parse_face_page,
    parse_group,
    parse_groups,
    to_dict,
)

from . import vendor_samples as samples
from .helpers import JPEG

# `date -u -d @1579591542` -> Tue Jan 21 07:25:42 UTC 2020
CREATED = datetime(2020, 1, 21, 7, 25, 42, tzinfo=timezone.utc)


def group(group_id: str, name: str, kind: GroupType) -> FaceGroup:
    return FaceGroup(
        group_id=group_id,
        name=name,
        type=kind,
        count=0,
        capacity=1000,
        last_modified_time=None,
        description="",
        customer_keys=(),
    )


SAMPLE_GROUPS = [
    group("578968814328", "stranger", GroupType.STRANGER),
    group("578968814329", "regular", GroupType.REGULAR),
    group("578968814330", "employee", GroupType.EMPLOYEE),
    group("578968817934", "YiliuTest", GroupType.CUSTOM),
]


def sample(body: str) -> httpx.Response:
    return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"})


async def test_sample_group_list(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/group/getList").mock(return_value=sample(samples.GROUP_GET_LIST))
    groups = await client.groups.list()
    assert groups == SAMPLE_GROUPS
    assert [g.is_default for g in groups] == [True, True, True, False]
    assert all(type(g.type) is GroupType for g in groups)


async def test_sample_group_info(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/group/getInfo").mock(return_value=sample(samples.GROUP_GET_INFO))
    assert await client.groups.get("578968814328") == SAMPLE_GROUPS[0]


async def test_sample_face_list(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/group/getFaceList").mock(return_value=sample(samples.GROUP_GET_FACE_LIST))
    page = await client.groups.list_faces("578968813726", page_num=1, page_size=10)
    assert page == FacePage(
        faces=(
            Face(
                face_id="578968751459",
                group_id="578968813726",
                group_name="",
                name="lll",
                gender=Gender.MALE,
                age_range=AgeRange.AGE_36_45,
                arrival_count=0,
                create_time=CREATED,
                last_arrival_time=None,
                customer_values=(),
            ),
        ),
        total_num=1,
        page_num=1,
        page_size=10,
    )
    face = page.faces[0]
    assert face.create_time is not None
    assert face.create_time.utcoffset() is not None
    assert (page.page_count, page.has_more) == (1, False)


async def test_sample_face_info(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/getInfo").mock(return_value=sample(samples.FACE_GET_INFO))
    face = await client.faces.get("578968751459")
    assert face == Face(
        face_id="578968751459",
        group_id="578968813726",
        group_name="stranger",
        name="lll",
        gender=Gender.MALE,
        age_range=AgeRange.AGE_36_45,
        arrival_count=0,
        create_time=CREATED,
        last_arrival_time=None,
        customer_values=(),
    )


async def test_sample_face_add(client: AsyncSunmiFace, router: respx.MockRouter) -> None:
    router.post("/face/add").mock(return_value=sample(samples.FACE_ADD))
    assert await client.faces.add("578968813726", pic=JPEG) == "578968740430"


@pytest.mark.parametrize("path", samples.EMPTY_DATA_ENDPOINTS)
async def test_sample_empty_replies(
    client: AsyncSunmiFace, router: respx.MockRouter, path: str
) -> None:
    router.post(path).mock(return_value=sample(samples.EMPTY_DATA))
    router.post("/face/group/getList").mock(return_value=sample(samples.GROUP_GET_LIST))
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "/face/group/create": lambda: client.groups.create("YiliuTest"),
        "/face/group/update": lambda: client.groups.update("1", name="x"),
        "/face/group/delete": lambda: client.groups.delete("1"),
        "/face/update": lambda: client.faces.update("1", "2", name="x"),
        "/face/delete": lambda: client.faces.delete("1", ["2"]),
        "/face/group/move": lambda: client.groups.move_faces("1", "2", ["3"]),
        "/face/group/updateMoveStrategy": lambda: client.groups.update_move_strategy(
            target_group_id="1", threshold=4, period=604800
        ),
    }
    result = await calls[path]()
    if path == "/face/group/create":
        assert result == SAMPLE_GROUPS[3]
    else:
        assert result is None


def test_every_sample_is_a_success_envelope() -> None:
    for body in (
        samples.GROUP_GET_LIST,
        samples.GROUP_GET_INFO,
        samples.EMPTY_DATA,
        samples.GROUP_GET_FACE_LIST,
        samples.FACE_GET_INFO,
        samples.FACE_ADD,
    ):
        envelope = json.loads(body)
        assert (envelope["code"], envelope["msg"]) == (0, "succeed")


# --- conversion rules ---------------------------------------------------------------------


def test_unix_times_become_aware_utc_and_zero_becomes_none() -> None:
    face = parse_face({"face_id": "1", "create_time": 1_700_000_000, "last_arrival_time": 0})
    assert face.create_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert face.create_time is not None
    assert face.create_time.tzinfo is timezone.utc
    assert face.last_arrival_time is None
    group_ = parse_group({"group_id": "1", "last_modified_time": "1700000000"})
    assert group_.last_modified_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def test_group_customer_keys_become_one_tuple() -> None:
    raw = {
        "group_id": "1",
        "customer_key1": "vip_level",
        "customer_key2": "",
        "customer_key3": "foreigner",
        "customer_key4": "",
        "customer_key5": "",
    }
    assert parse_group(raw).customer_keys == ("vip_level", "", "foreigner")
    all_five = {f"customer_key{i}": f"k{i}" for i in range(1, 6)}
    assert parse_group({"group_id": "1", **all_five}).customer_keys == (
        "k1",
        "k2",
        "k3",
        "k4",
        "k5",
    )


def test_face_customer_values_from_values_fields() -> None:
    raw = {"face_id": "1", "customer_value1": "gold", "customer_value2": "sing"}
    face = parse_face(raw)
    assert face.customer_values == ("gold", "sing")
    assert [face.customer_value(i) for i in range(1, 6)] == ["gold", "sing", "", "", ""]


def test_face_list_output_keys_are_the_face_values() -> None:
    raw = {"face_id": "1", "customer_key1": "", "customer_key2": "blue", "customer_key5": "x"}
    assert parse_face(raw).customer_values == ("", "blue", "", "", "x")


@pytest.mark.parametrize("slot", [0, 6, -1])
def test_customer_value_slot_bounds(slot: int) -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        Face(face_id="1").customer_value(slot)


def test_every_field_is_optional() -> None:
    assert parse_group({}) == FaceGroup(group_id="")
    assert parse_face({}) == Face(face_id="")
    nulls = {"group_id": "1", "type": None, "count": None, "group_name": None}
    assert parse_group(nulls) == FaceGroup(group_id="1")
    assert parse_face_page({}, 1, 10) == FacePage(faces=(), total_num=0, page_num=1, page_size=10)
    assert parse_face_page(None, 2, 10).faces == ()
    assert parse_groups({}) == []
    assert parse_groups(None) == []


def test_loose_types_are_accepted() -> None:
    face = parse_face({"face_id": 578968751459, "gender": "2", "age_range": 3.0, "group_id": 7})
    assert (face.face_id, face.group_id, face.gender, face.age_range) == (
        "578968751459",
        "7",
        Gender.FEMALE,
        AgeRange.AGE_13_18,
    )


def test_unknown_extra_fields_are_ignored() -> None:
    assert parse_group({"group_id": "1", "brand_new": [1, 2]}) == FaceGroup(group_id="1")


@pytest.mark.parametrize(
    "raw",
    [
        {"group_id": "1", "count": "lots"},
        {"group_id": "1", "type": True},
        {"group_id": "1", "last_modified_time": "yesterday"},
        {"group_id": ["1"]},
        "a string",
        [],
    ],
)
def test_malformed_groups_raise_protocol_errors(raw: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_group(raw, "/face/group/getInfo")
    assert caught.value.endpoint == "/face/group/getInfo"


def test_bad_total_num_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_face_page({"face_list": [], "total_num": "many"}, 1, 10)


# --- enums ---------------------------------------------------------------------------------


def test_enum_values_match_the_protocol() -> None:
    assert [int(t) for t in GroupType] == [1, 2, 3, 4, 5]
    assert (Gender.UNKNOWN, Gender.MALE, Gender.FEMALE) == (0, 1, 2)
    assert [int(a) for a in AgeRange] == list(range(1, 9))
    assert int(AgeRange.AGE_19_28) == 4
    assert int(AgeRange.AGE_56_PLUS) == 8


@pytest.mark.parametrize(
    ("enum", "value"), [(GroupType, 9), (Gender, 3), (AgeRange, 0), (AgeRange, 42)]
)
def test_enums_tolerate_unknown_values(enum: type[GroupType], value: int) -> None:
    member = enum(value)
    assert isinstance(member, enum)
    assert member == value
    assert member.name == f"UNKNOWN_{value}"
    assert not enum.is_known(value)
    assert not enum.is_known(member)
    assert enum.is_known(next(iter(enum)).value)
    assert len(list(enum)) == len(enum.__members__)  # no pseudo-member was added


def test_enums_refuse_non_integers() -> None:
    with pytest.raises(ValueError, match="not a valid GroupType"):
        GroupType("5")  # type: ignore[arg-type]
    assert not GroupType.is_known(True)


def test_unknown_codes_parse_instead_of_crashing() -> None:
    group_ = parse_group({"group_id": "1", "type": 9})
    assert group_.type == 9
    assert isinstance(group_.type, GroupType)
    assert not group_.is_default
    face = parse_face({"face_id": "1", "gender": 5, "age_range": 12})
    assert (face.gender, face.age_range) == (5, 12)


# --- records -------------------------------------------------------------------------------


def test_records_are_frozen_and_hashable() -> None:
    group_ = SAMPLE_GROUPS[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        group_.name = "x"  # type: ignore[misc]
    face = Face(face_id="1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        face.name = "x"  # type: ignore[misc]
    assert len({group_, SAMPLE_GROUPS[0], SAMPLE_GROUPS[1]}) == 2
    assert hash(face) == hash(Face(face_id="1"))


@pytest.mark.parametrize(
    ("total", "size", "pages"), [(0, 10, 0), (1, 10, 1), (10, 10, 1), (11, 10, 2), (5, 0, 0)]
)
def test_face_page_count(total: int, size: int, pages: int) -> None:
    assert FacePage(faces=(), total_num=total, page_num=1, page_size=size).page_count == pages


def test_face_page_has_more() -> None:
    full = tuple(Face(face_id=str(i)) for i in range(2))
    assert FacePage(faces=full, total_num=5, page_num=1, page_size=2).has_more
    assert not FacePage(faces=full, total_num=4, page_num=2, page_size=2).has_more
    assert not FacePage(faces=full[:1], total_num=5, page_num=1, page_size=2).has_more


def test_to_dict_is_json_ready() -> None:
    face = Face(
        face_id="1",
        gender=Gender.MALE,
        create_time=CREATED,
        customer_values=("a", "b"),
    )
    out = to_dict(face)
    assert json.loads(json.dumps(out)) == out
    assert out["create_time"] == "2020-01-21T07:25:42+00:00"
    assert out["gender"] == 1
    assert type(out["gender"]) is int
    assert out["customer_values"] == ["a", "b"]
    assert out["last_arrival_time"] is None
    assert to_dict(SAMPLE_GROUPS[3])["type"] == 5
