"""The fake answers every endpoint with exactly the fields of the vendor's sample answer.

Each answer is taken raw from the wire (signed here, without the package's client) and its
shape, every object's key set and every leaf's JSON type, path by path, is compared with the
shape of the vendor's sample for that endpoint. A fake that sends more than the vendor does
lets tests pass on data the real API may never send.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

from sunmi_face_async.testing._handlers import HANDLERS

from .helpers import PNG, RawApi


def _load_samples() -> ModuleType:
    path = Path(__file__).parents[1] / "core" / "vendor_samples.py"
    spec = importlib.util.spec_from_file_location("vendor_samples", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


samples = _load_samples()

#: The vendor's sample answer of each endpoint the fake serves. The vendor document shows no
#: answer for the push subscription endpoints; the fake gives them the common empty one.
SAMPLE_OF: dict[str, str] = {
    "/face/group/getList": samples.GROUP_GET_LIST,
    "/face/group/getInfo": samples.GROUP_GET_INFO,
    "/face/group/getFaceList": samples.GROUP_GET_FACE_LIST,
    "/face/getInfo": samples.FACE_GET_INFO,
    "/face/add": samples.FACE_ADD,
    **{path: samples.EMPTY_DATA for path in samples.EMPTY_DATA_ENDPOINTS},
    "/hook/add": samples.EMPTY_DATA,
    "/hook/delete": samples.EMPTY_DATA,
}


def shape(
    value: Any, path: str = "$", out: dict[str, set[str]] | None = None
) -> dict[str, set[str]]:
    """Path -> the key sets of the objects there (``{a,b}``) or the JSON types of the leaves."""
    out = defaultdict(set) if out is None else out
    if isinstance(value, dict):
        out[path].add("{" + ",".join(sorted(value)) + "}")
        for key, item in value.items():
            shape(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        out[path].add("[]")
        for item in value:
            shape(item, f"{path}[]", out)
    else:
        out[path].add(type(value).__name__)
    return dict(out)


def test_every_endpoint_has_a_sample() -> None:
    assert set(SAMPLE_OF) == set(HANDLERS)


async def _answers(raw: RawApi) -> dict[str, dict[str, Any]]:
    """One successful raw answer from every endpoint, on a group holding a full face."""
    got: dict[str, dict[str, Any]] = {}

    async def call(path: str, **params: str) -> dict[str, Any]:
        envelope = await raw.call(path, **params)
        assert envelope["code"] == 0, (path, envelope)
        got[path] = envelope
        return envelope

    got["/face/group/create"] = await raw.call(
        "/face/group/create", name="VIP", type="5", customer_key1="level", customer_key2="hobby"
    )
    listed = await call("/face/group/getList")
    vip = next(g["group_id"] for g in listed["data"]["group_list"] if g["group_name"] == "VIP")
    other = await raw.create_group("Other")
    await call("/face/group/getInfo", group_id=vip)
    await call("/face/group/update", group_id=vip, description="gold card")
    values = {f"customer_value{i}": f"v{i}" for i in range(1, 6)}
    added = await raw.add_face(vip, PNG, name="Mike", gender="1", age_range="4", **values)
    assert added["code"] == 0, added
    got["/face/add"] = added
    face_id = added["data"]["face_id"]
    await call("/face/group/getFaceList", group_id=vip, page_num="1", page_size="10")
    await call("/face/getInfo", face_id=face_id)
    await call("/face/update", group_id=vip, face_id=face_id, name="Mike Li")
    ids = json.dumps([face_id], separators=(",", ":"))
    await call("/face/group/move", source_group_id=vip, target_group_id=other, face_id_list=ids)
    await call("/face/group/updateMoveStrategy", target_group_id=other, threshold="3", period="60")
    await call("/face/delete", group_id=other, face_id_list=ids)
    await call("/face/group/delete", group_id=vip)
    hook = {"http_callback": "https://example.test/hook", "event_list": "[1]"}
    await call("/hook/add", **hook)
    await call("/hook/delete", **hook)
    return got


async def test_each_answer_has_the_fields_of_the_vendor_sample(raw: RawApi) -> None:
    answers = await _answers(raw)
    assert set(answers) == set(SAMPLE_OF)
    differences = {
        path: (shape(answer), shape(json.loads(SAMPLE_OF[path])))
        for path, answer in answers.items()
        if shape(answer) != shape(json.loads(SAMPLE_OF[path]))
    }
    assert differences == {}


async def test_face_get_info_carries_no_custom_values(raw: RawApi) -> None:
    group_id = await raw.create_group("VIP")
    added = await raw.add_face(group_id, PNG, customer_value1="gold")
    info = await raw.call("/face/getInfo", face_id=added["data"]["face_id"])
    assert sorted(info["data"]) == sorted(json.loads(samples.FACE_GET_INFO)["data"])
    listed = await raw.call("/face/group/getFaceList", group_id=group_id)
    assert listed["data"]["face_list"][0]["customer_key1"] == "gold"
