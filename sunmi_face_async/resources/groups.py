"""``client.groups``: face groups, their faces, moves between them and the stranger strategy."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from .. import _endpoints as ep
from .. import _validate as check
from .._convert import parse_face_page, parse_group, parse_groups
from ..errors import APIError, GroupLookupError, SunmiError, TransportError
from ..models import Face, FaceGroup, FacePage, GroupType
from ..paging import PageWalk
from ._base import Resource

__all__ = ["Groups"]


class Groups(Resource):
    """Group endpoints of one store."""

    __slots__ = ()

    async def list(self) -> builtins.list[FaceGroup]:
        """Every group of the store, default groups included."""
        data = await self._call(ep.GROUP_LIST, {})
        return parse_groups(data, ep.GROUP_LIST.path)

    async def get(self, group_id: str) -> FaceGroup:
        params = {"group_id": check.nonempty_str("group_id", group_id)}
        data = await self._call(ep.GROUP_INFO, params)
        return parse_group(data, ep.GROUP_INFO.path)

    async def create(
        self,
        name: str,
        *,
        type: GroupType | int = GroupType.CUSTOM,
        capacity: int | None = None,
        description: str | None = None,
        customer_keys: Sequence[str | None] | None = None,
    ) -> FaceGroup:
        """Create a group and return it.

        The API answers without the new id, so the group is looked up by name afterwards
        (names are unique within a store). The same lookup resolves a create whose outcome
        was unknown: a group with that name is the one this call made.
        """
        params: dict[str, object] = {
            "name": check.nonempty_str("name", name),
            "type": check.enum_value("type", type, GroupType, required=True),
            "capacity": None if capacity is None else check.positive_int("capacity", capacity),
            "description": check.optional_str("description", description),
            **check.custom_slots("customer_keys", customer_keys, "customer_key"),
        }
        try:
            await self._call(ep.GROUP_CREATE, params)
        except (TransportError, APIError) as exc:
            if not getattr(exc, "outcome_unknown", False):
                raise
            try:
                found = [g for g in await self.list() if g.name == name]
            except SunmiError:
                raise exc from None  # the caller must still learn the create may have happened
            if len(found) != 1:
                raise
            return found[0]
        return await self.find(name)

    async def find(self, name: str) -> FaceGroup:
        """The one group called ``name``; ``GroupLookupError`` if there is none or several."""
        check.nonempty_str("name", name)
        found = [group for group in await self.list() if group.name == name]
        if len(found) != 1:
            raise GroupLookupError(name, len(found))
        return found[0]

    async def update(
        self,
        group_id: str,
        *,
        name: str | None = None,
        capacity: int | None = None,
        description: str | None = None,
        customer_keys: Sequence[str | None] | None = None,
    ) -> None:
        params: dict[str, object] = {
            "group_id": check.nonempty_str("group_id", group_id),
            "name": None if name is None else check.nonempty_str("name", name),
            "capacity": None if capacity is None else check.positive_int("capacity", capacity),
            "description": check.optional_str("description", description),
            **check.custom_slots("customer_keys", customer_keys, "customer_key"),
        }
        await self._call(ep.GROUP_UPDATE, params)

    async def delete(self, group_id: str) -> None:
        """Delete an empty custom group (5509 if it still holds faces)."""
        await self._call(ep.GROUP_DELETE, {"group_id": check.nonempty_str("group_id", group_id)})

    async def list_faces(
        self, group_id: str, *, page_num: int = 1, page_size: int = check.MAX_PAGE_SIZE
    ) -> FacePage:
        """One page of a group's faces; ``total_num`` is the server's count of the group."""
        params = {
            "group_id": check.nonempty_str("group_id", group_id),
            "page_num": check.positive_int("page_num", page_num),
            "page_size": check.positive_int("page_size", page_size, maximum=check.MAX_PAGE_SIZE),
        }
        data = await self._call(ep.GROUP_FACE_LIST, params)
        return parse_face_page(data, page_num, page_size, ep.GROUP_FACE_LIST.path)

    async def iter_faces(
        self, group_id: str, *, page_size: int = check.MAX_PAGE_SIZE
    ) -> AsyncIterator[Face]:
        """Every face of a group once, page after page.

        The pages decide, not ``total_num``: a page that brings no new face ends the walk,
        and so does one shorter than the pages the server serves once as many faces as the
        server counts were seen. A server that serves fewer faces per page than asked is
        followed at the length it serves, so no face is skipped. Faces are de-duplicated by
        ``face_id`` (only the ids are kept). A server that keeps bringing new faces far past
        its own ``total_num`` raises ``ProtocolError``; a walk that ends with fewer faces than
        the server counted logs a warning (``sunmi_face_async.paging``). Yields the same
        faces as ``sunmi_face_async.bulk.export_faces``, which fetches pages concurrently.
        """
        check.nonempty_str("group_id", group_id)
        size = check.positive_int("page_size", page_size, maximum=check.MAX_PAGE_SIZE)
        walk = PageWalk(size, group_id)
        while not walk.done:
            for page_num in walk.plan(1):
                page = await self.list_faces(group_id, page_num=page_num, page_size=walk.size)
                for face in walk.take(page):
                    yield face
        walk.finish()

    async def move_faces(
        self, source_group_id: str, target_group_id: str, face_ids: Sequence[str]
    ) -> None:
        params = {
            "source_group_id": check.nonempty_str("source_group_id", source_group_id),
            "target_group_id": check.nonempty_str("target_group_id", target_group_id),
            "face_id_list": check.id_list("face_ids", face_ids),
        }
        await self._call(ep.GROUP_MOVE, params)

    async def update_move_strategy(
        self, *, target_group_id: str, threshold: int, period: timedelta | float
    ) -> None:
        """Promote a stranger seen ``threshold`` times within ``period`` to the target group."""
        params = {
            "target_group_id": check.nonempty_str("target_group_id", target_group_id),
            "threshold": check.positive_int("threshold", threshold),
            "period": check.seconds("period", period),
        }
        await self._call(ep.GROUP_MOVE_STRATEGY, params)
