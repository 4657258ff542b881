"""The API's endpoints: path, and the two facts the transport needs about each."""

from __future__ import annotations

import attrs

__all__ = ["Endpoint"]


@attrs.frozen
class Endpoint:
    """One API path. ``creates`` marks calls that are not safe to repeat blindly."""

    path: str
    creates: bool = False
    multipart: bool = False


GROUP_LIST = Endpoint("/face/group/getList")
GROUP_INFO = Endpoint("/face/group/getInfo")
GROUP_CREATE = Endpoint("/face/group/create", creates=True)
GROUP_UPDATE = Endpoint("/face/group/update")
GROUP_DELETE = Endpoint("/face/group/delete")
GROUP_FACE_LIST = Endpoint("/face/group/getFaceList")
GROUP_MOVE = Endpoint("/face/group/move")
GROUP_MOVE_STRATEGY = Endpoint("/face/group/updateMoveStrategy")
FACE_INFO = Endpoint("/face/getInfo")
FACE_ADD = Endpoint("/face/add", creates=True, multipart=True)
FACE_UPDATE = Endpoint("/face/update")
FACE_DELETE = Endpoint("/face/delete")
HOOK_ADD = Endpoint("/hook/add")
HOOK_DELETE = Endpoint("/hook/delete")
