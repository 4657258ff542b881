"""A Starlette app that serves SUNMI face data: the pattern for any async web app.

- The lifespan opens ONE client for the app (``AsyncSunmiFace.from_env()``: ``SUNMI_APP_ID``,
  ``SUNMI_APP_KEY``, ``SUNMI_SHOP_NO`` (the default store), ``SUNMI_BASE_URL``); its
  connections are shared by every request.
- ``sunmi(request)`` gives each request that client for the path's store, with the route's
  deadline: ``client.with_shop(...).with_options(deadline=...)`` (cheap: no new connections).
- SUNMI errors become HTTP answers in one exception handler (``sunmi_http.error_response``).
- ``/sunmi/push`` receives SUNMI's push callbacks with ``callback_app``'s rules.

Run it: ``SUNMI_APP_ID=... SUNMI_APP_KEY=... SUNMI_SHOP_NO=... uvicorn --app-dir
examples/webapp --factory starlette_app:create_app`` (against the fake cloud: start ``sunmi-face
fake-server`` and export the variables it prints).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from sunmi_http import PushReceiver, error_response, read_json_object, read_picture

from sunmi_face_async import AsyncSunmiFace, SunmiError
from sunmi_face_async.models import to_dict

#: Seconds each route gives its SUNMI call, retries included.
ROUTE_DEADLINE = 1.0


def sunmi(request: Request) -> AsyncSunmiFace:
    """The app's client for this request's store, bounded by the app's route deadline."""
    client: AsyncSunmiFace = request.app.state.sunmi
    shop = client.with_shop(sunmi_shop_no=request.path_params["shop"])
    return shop.with_options(deadline=request.app.state.deadline)


async def list_groups(request: Request) -> Response:
    groups = await sunmi(request).groups.list()
    return JSONResponse([to_dict(group) for group in groups])


async def create_group(request: Request) -> Response:
    body = await read_json_object(request)
    group = await sunmi(request).groups.create(body.get("name", ""))
    return JSONResponse(to_dict(group), status_code=201)


async def get_face(request: Request) -> Response:
    face = await sunmi(request).faces.get(request.path_params["face_id"])
    return JSONResponse(to_dict(face))


async def add_face(request: Request) -> Response:
    """The request body is the picture (JPEG, PNG or BMP); ``?name=`` names the face."""
    picture = await read_picture(request)
    api = sunmi(request)
    face_id = await api.faces.add(
        request.path_params["group_id"], pic=picture, name=request.query_params.get("name")
    )
    return JSONResponse({"face_id": face_id}, status_code=201)


async def push_events(request: Request) -> Response:
    return JSONResponse(request.app.state.push.events)


async def on_sunmi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SunmiError)
    return error_response(exc, request.method)


def create_app(*, deadline: float = ROUTE_DEADLINE, app_key: str | None = None) -> Starlette:
    """The app. ``app_key`` checks push callbacks (default: ``SUNMI_APP_KEY``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncSunmiFace.from_env() as client:
            app.state.sunmi = client
            yield

    push = PushReceiver(app_key or os.environ["SUNMI_APP_KEY"])
    app = Starlette(
        routes=[
            Route("/shops/{shop}/groups", list_groups, methods=["GET"]),
            Route("/shops/{shop}/groups", create_group, methods=["POST"]),
            Route("/shops/{shop}/faces/{face_id}", get_face, methods=["GET"]),
            Route("/shops/{shop}/groups/{group_id}/faces", add_face, methods=["POST"]),
            Route("/push-events", push_events, methods=["GET"]),
            Route("/sunmi/push", push),
        ],
        exception_handlers={SunmiError: on_sunmi_error},
        lifespan=lifespan,
    )
    app.state.deadline = deadline
    app.state.push = push
    return app
