"""Admin routes under ``/_fake/``: what ``FakeCloudServer`` uses to steer a fake in another
process. They are unsigned, never faulted, and exist only on the fake.

- ``GET health``
- ``GET|POST faults``: POST a JSON object of :class:`Faults` fields
- ``GET stats`` (``?request_times=false`` leaves the arrival times out), ``POST stats/reset``
- ``GET groups?shop_no=``, ``GET faces?group_id=&shop_no=``
- ``GET shop?shop_no=`` (``store`` still answers): the move strategy and the push hooks
- ``POST arrival``: ``{"face_id", "shop_no"?, "at"?}``; answers the face as ``getInfo`` does
- ``POST pushes/deliver``
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._state import FakeAPIError

if TYPE_CHECKING:
    from .fake import FakeSunmiCloud

__all__ = ["admin_routes"]

ADMIN_PREFIX = "/_fake"


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    value = json.loads(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def admin_routes(cloud: FakeSunmiCloud) -> list[Route]:
    """The admin routes of ``cloud``."""

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "app_id": cloud.app_id, "shop_no": cloud.shop_no})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                cloud.faults.update(await _json_body(request))
            except (ValueError, TypeError) as exc:
                return _bad(str(exc))
        return JSONResponse(cloud.faults.as_dict())

    async def stats(request: Request) -> Response:
        result = cloud.stats.as_dict()
        if request.query_params.get("request_times", "true") == "false":
            del result["request_times"]  # can be millions of numbers after a long run
        return JSONResponse(result)

    async def reset_stats(request: Request) -> Response:
        cloud.reset_stats()
        return JSONResponse(cloud.stats.as_dict())

    async def groups(request: Request) -> Response:
        store = cloud.shop_state(request.query_params.get("shop_no"))
        return JSONResponse([g.wire() for g in store.groups.values()])

    async def faces(request: Request) -> Response:
        store = cloud.shop_state(request.query_params.get("shop_no"))
        try:
            group = store.group(request.query_params.get("group_id", ""), 5506)
        except FakeAPIError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        wire = [f.wire(group.name, list_form=False) for f in group.faces.values()]
        return JSONResponse(wire)

    async def shop_settings(request: Request) -> Response:
        state = cloud.shop_state(request.query_params.get("shop_no"))
        strategy = None if state.strategy is None else attrs.asdict(state.strategy)
        hooks = {url: sorted(events) for url, events in state.hooks.items()}
        return JSONResponse({"move_strategy": strategy, "hooks": hooks})

    async def arrival(request: Request) -> Response:
        try:
            body = await _json_body(request)
            face = cloud.simulate_arrival(str(body["face_id"]), body.get("shop_no"), body.get("at"))
        except (ValueError, KeyError) as exc:
            return _bad(str(exc))
        except FakeAPIError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        state = cloud.shop_state(body.get("shop_no"))
        record = state.face(face.face_id)
        return JSONResponse(record.wire(state.groups[record.group_id].name, list_form=False))

    async def deliver(request: Request) -> Response:
        records = await cloud.deliver_pushes()
        return JSONResponse([attrs.asdict(r) for r in records])

    return [
        Route(f"{ADMIN_PREFIX}/health", health, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/faults", faults, methods=["GET", "POST"]),
        Route(f"{ADMIN_PREFIX}/stats", stats, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/stats/reset", reset_stats, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/groups", groups, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/faces", faces, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/shop", shop_settings, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/store", shop_settings, methods=["GET"]),  # the old path, kept
        Route(f"{ADMIN_PREFIX}/arrival", arrival, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/pushes/deliver", deliver, methods=["POST"]),
    ]
