"""The README's quick start, runnable: list groups, create one, add faces, page through them.

With ``SUNMI_APP_ID``, ``SUNMI_APP_KEY`` and ``SUNMI_SHOP_NO`` set it talks to that gateway
(``SUNMI_BASE_URL``, default production); without them it runs against the in-process fake
cloud, so it works anywhere: ``python examples/quickstart.py``.
"""

from __future__ import annotations

import os
from datetime import timedelta

import anyio

from sunmi_face_async import AgeRange, AsyncSunmiFace, Gender, GroupType
from sunmi_face_async.testing.pictures import face_png


def make_client() -> AsyncSunmiFace:
    if os.environ.get("SUNMI_APP_ID") and os.environ.get("SUNMI_APP_KEY"):
        return AsyncSunmiFace.from_env()
    from sunmi_face_async.testing import FakeSunmiCloud

    print("no SUNMI_* credentials in the environment: using the in-process fake cloud")
    return FakeSunmiCloud().client()


async def main() -> list[str]:
    async with make_client() as client:
        for group in await client.groups.list():
            print(f"group {group.group_id} {group.name!r} type={group.type!r} count={group.count}")
        vip = await client.groups.create(
            "Quickstart VIP", type=GroupType.CUSTOM, capacity=1000, customer_keys=["level"]
        )
        print(f"created {vip.name!r} as {vip.group_id}")
        face_ids = [
            await client.faces.add(
                vip.group_id,
                pic=face_png(index),
                name=f"Guest {index}",
                gender=Gender.FEMALE if index % 2 else Gender.MALE,
                age_range=AgeRange.AGE_19_28,
                customer_values=["gold" if index < 3 else "silver"],
            )
            for index in range(7)
        ]
        names = [face.name async for face in client.groups.iter_faces(vip.group_id, page_size=3)]
        print(f"paged through {len(names)} faces, 3 per page: {names}")
        await client.groups.update_move_strategy(
            target_group_id=vip.group_id, threshold=4, period=timedelta(days=7)
        )
        await client.faces.delete(vip.group_id, face_ids)
        await client.groups.delete(vip.group_id)
        print("cleaned up: faces and group deleted")
        return names


if __name__ == "__main__":
    anyio.run(main)
