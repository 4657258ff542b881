"""Helpers for the bulk tests: tiny distinct pictures and a fresh fake cloud with a group."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import pytest_asyncio

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.testing import FakeSunmiCloud


def picture(i: int, kind: str = "jpeg") -> bytes:
    """A small, distinct picture with the right magic bytes."""
    magic = {"jpeg": b"\xff\xd8\xff\xe0", "png": b"\x89PNG\r\n\x1a\n", "bmp": b"BM"}[kind]
    return magic + struct.pack(">I", i) + b"\x00" * 32


def duplicates_by_slot(cloud: FakeSunmiCloud, group_id: str, slot: int = 1) -> int:
    """How many faces on the server repeat an external key already held by another face."""
    keys = Counter(face.customer_value(slot) for face in cloud.faces_in(group_id))
    assert "" not in keys, "a face without an external key"
    return sum(n - 1 for n in keys.values() if n > 1)


def duplicate_pictures(cloud: FakeSunmiCloud, group_id: str) -> int:
    """How many faces on the server repeat a picture already held by another face."""
    digests = Counter(cloud.picture_digest(face.face_id)[0] for face in cloud.faces_in(group_id))
    return sum(n - 1 for n in digests.values() if n > 1)


@pytest.fixture
def cloud() -> FakeSunmiCloud:
    return FakeSunmiCloud(seed=11)


@pytest_asyncio.fixture
async def client(cloud: FakeSunmiCloud) -> AsyncIterator[AsyncSunmiFace]:
    async with cloud.client() as client:
        yield client


@pytest_asyncio.fixture
async def group_id(client: AsyncSunmiFace) -> str:
    group = await client.groups.create("bulk", capacity=30_000, customer_keys=["ext"])
    return group.group_id


class ShortGroups:
    """``client.groups`` whose listing drops the last face of each page but keeps the
    page's ``total_num``: a server whose listing is short of its own count."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def list_faces(self, *args: Any, **kwargs: Any) -> Any:
        page = await self._real.list_faces(*args, **kwargs)
        return attrs.evolve(page, faces=page.faces[:-1]) if page.faces else page


class ShortListing:
    """A client whose group listings are short of their own count (see ``ShortGroups``)."""

    def __init__(self, client: AsyncSunmiFace) -> None:
        self._client = client
        self.groups = ShortGroups(client.groups)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
