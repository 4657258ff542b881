"""Helpers for the bulk tests: tiny distinct pictures and a fresh fake cloud with a group."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import AsyncIterator

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
