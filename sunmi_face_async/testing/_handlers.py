"""One handler per API path: read the business parameters, call the store, shape ``data``.

Handlers are synchronous, so each one is atomic on the event loop. A missing or malformed
parameter is a 5020 answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..models import CUSTOM_SLOTS
from ..pictures import picture_format
from ._state import FakeAPIError, ShopState

__all__ = ["HANDLERS", "Request"]

_SLOTS = range(1, CUSTOM_SLOTS + 1)


@attrs.frozen
class Request:
    """What a handler sees: the form fields (strings), the picture bytes, the clock."""

    params: Mapping[str, str]
    now: int
    pic: bytes | None = None

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.params.get(name)
        if value is None and required:
            raise FakeAPIError(5020, f"missing parameter {name}")
        return value

    def required(self, name: str) -> str:
        value = self.params.get(name)
        if not value:
            raise FakeAPIError(5020, f"missing parameter {name}")
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.required(name) if required else self.params.get(name)
        if value is None:
            return None
        text = value[1:] if value.startswith("-") else value
        if not (text.isascii() and text.isdigit()):
            raise FakeAPIError(5020, f"{name} is not an integer")
        return int(value)

    def choice(self, name: str, allowed: range) -> int | None:
        value = self.integer(name)
        if value is not None and value not in allowed:
            raise FakeAPIError(5020, f"{name} {value} is out of range")
        return value

    def id_list(self, name: str) -> list[str]:
        raw = self.required(name)
        try:
            ids = json.loads(raw)
        except ValueError:
            ids = None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise FakeAPIError(5020, f"{name} must be a non-empty JSON array of strings")
        return ids

    def slots(self, prefix: str) -> list[str | None]:
        return [self.params.get(f"{prefix}{slot}") for slot in _SLOTS]


Handler = Callable[[ShopState, Request], Any]


def _group_list(store: ShopState, req: Request) -> Any:
    return {"group_list": [group.wire() for group in store.groups.values()]}


def _group_info(store: ShopState, req: Request) -> Any:
    return store.group(req.required("group_id"), 5013).wire()


def _group_create(store: ShopState, req: Request) -> Any:
    store.create_group(
        req.required("name"),
        req.integer("type", required=True) or 0,
        req.integer("capacity"),
        req.text("description"),
        req.slots("customer_key"),
    )
    return {}


def _group_update(store: ShopState, req: Request) -> Any:
    store.update_group(
        req.required("group_id"),
        req.text("name"),
        req.integer("capacity"),
        req.text("description"),
        req.slots("customer_key"),
    )
    return {}


def _group_delete(store: ShopState, req: Request) -> Any:
    store.delete_group(req.required("group_id"))
    return {}


def _face_list(store: ShopState, req: Request) -> Any:
    group_id = req.required("group_id")
    page_num = req.integer("page_num")
    page_size = req.integer("page_size")
    faces, total = store.page(group_id, page_num or 1, 10 if page_size is None else page_size)
    name = store.groups[group_id].name
    return {"face_list": [f.wire(name, list_form=True) for f in faces], "total_num": total}


def _face_info(store: ShopState, req: Request) -> Any:
    face = store.face(req.required("face_id"))
    return face.info(store.groups[face.group_id].name)


def check_picture(pic: bytes | None) -> bytes:
    """The picture must be a non-empty JPEG, PNG or BMP file (the formats the client sends)."""
    if pic is None:
        raise FakeAPIError(5020, "missing file parameter pic")
    if picture_format(pic) is None:
        raise FakeAPIError(5020, "pic is not a JPEG, PNG or BMP picture")
    return pic


def _face_add(store: ShopState, req: Request) -> Any:
    group_id = req.required("group_id")
    pic = check_picture(req.pic)
    face = store.add_face(
        group_id,
        name=req.text("name") or "",
        gender=req.choice("gender", range(3)) or 0,
        age_range=req.choice("age_range", range(9)) or 0,
        values=req.slots("customer_value"),
        pic_sha256=hashlib.sha256(pic).hexdigest(),
        pic_size=len(pic),
    )
    return {"face_id": face.face_id}


def _face_update(store: ShopState, req: Request) -> Any:
    store.update_face(
        req.required("group_id"),
        req.required("face_id"),
        name=req.text("name"),
        gender=req.choice("gender", range(3)),
        age_range=req.choice("age_range", range(9)),
        values=req.slots("customer_value"),
    )
    return {}


def _face_delete(store: ShopState, req: Request) -> Any:
    store.delete_faces(req.required("group_id"), req.id_list("face_id_list"))
    return {}


def _face_move(store: ShopState, req: Request) -> Any:
    source = req.required("source_group_id")
    target = req.required("target_group_id")
    store.move_faces(source, target, req.id_list("face_id_list"))
    return {}


def _move_strategy(store: ShopState, req: Request) -> Any:
    store.set_strategy(
        req.required("target_group_id"),
        req.integer("threshold", required=True) or 0,
        req.integer("period", required=True) or 0,
    )
    return {}


def _event_list(req: Request) -> frozenset[int]:
    try:
        events = json.loads(req.required("event_list"))
    except ValueError:
        events = None
    if not isinstance(events, list) or not all(type(e) is int for e in events):
        raise FakeAPIError(5020, "event_list must be a JSON array of integers")
    return frozenset(events)


def _hook_add(store: ShopState, req: Request) -> Any:
    url = req.required("http_callback")
    if not url.startswith(("http://", "https://")):
        raise FakeAPIError(5020, "http_callback must be an http(s) URL")
    store.hooks[url] = store.hooks.get(url, frozenset()) | _event_list(req)
    return {}


def _hook_delete(store: ShopState, req: Request) -> Any:
    url = req.text("http_callback")
    events = _event_list(req) if "event_list" in req.params else None
    for hook in [url] if url is not None else list(store.hooks):
        left = frozenset() if events is None else store.hooks.get(hook, frozenset()) - events
        if left:
            store.hooks[hook] = left
        else:
            store.hooks.pop(hook, None)
    return {}


#: The endpoints the fake serves, by path.
HANDLERS: dict[str, Handler] = {
    "/face/group/getList": _group_list,
    "/face/group/getInfo": _group_info,
    "/face/group/create": _group_create,
    "/face/group/update": _group_update,
    "/face/group/delete": _group_delete,
    "/face/group/getFaceList": _face_list,
    "/face/getInfo": _face_info,
    "/face/add": _face_add,
    "/face/update": _face_update,
    "/face/delete": _face_delete,
    "/face/group/move": _face_move,
    "/face/group/updateMoveStrategy": _move_strategy,
    "/hook/add": _hook_add,
    "/hook/delete": _hook_delete,
}
