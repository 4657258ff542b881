"""What the bulk layer needs of a client: the few calls it makes, as a ``Protocol``.

``AsyncSunmiFace`` satisfies ``BulkClient``; so does a test double with these methods. The
bulk layer also reads ``timeout``, ``shop`` and ``base_url`` when a client has them (to
size the wait for uploads in flight and to name the job in its journal) and calls
``faces.check_add`` when it exists (a dry run checks what ``faces.add`` would refuse): a
client without them still works, so they are looked up, not required.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ..models import AgeRange, FacePage, Gender
from ..pictures import PictureSource

if TYPE_CHECKING:
    from .. import AsyncSunmiFace

__all__ = ["BulkClient", "BulkFaces", "BulkGroups"]


class BulkFaces(Protocol):
    """The face calls of bulk enrollment and delete."""

    async def add(
        self,
        group_id: str,
        *,
        pic: PictureSource,
        name: str | None = None,
        gender: Gender | int | None = None,
        age_range: AgeRange | int | None = None,
        customer_values: Sequence[str | None] | None = None,
    ) -> str: ...

    async def delete(self, group_id: str, face_ids: Sequence[str]) -> None: ...


class BulkGroups(Protocol):
    """The group calls of export (and reconciliation) and move."""

    async def list_faces(
        self, group_id: str, *, page_num: int = ..., page_size: int = ...
    ) -> FacePage: ...

    async def move_faces(
        self, source_group_id: str, target_group_id: str, face_ids: Sequence[str]
    ) -> None: ...


class BulkClient(Protocol):
    """A client the bulk operations can drive (``AsyncSunmiFace`` is one)."""

    @property
    def faces(self) -> BulkFaces: ...

    @property
    def groups(self) -> BulkGroups: ...


if TYPE_CHECKING:  # mypy checks that the real client is a BulkClient

    def _real_client_fits(client: AsyncSunmiFace) -> BulkClient:
        return client
