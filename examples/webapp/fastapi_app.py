"""The Starlette example in FastAPI's style: the same routes, answers and push receiver.

- The lifespan opens ONE client for the app (``AsyncSunmiFace.from_env()``).
- The dependency ``sunmi`` gives each request that client for the path's store, with the
  route's deadline: ``client.with_shop(...).with_options(deadline=...)``.
- One exception handler turns SUNMI errors into HTTP answers (``sunmi_http.error_response``).
- ``/sunmi/push`` receives SUNMI's push callbacks with ``callback_app``'s rules.

Run it: ``SUNMI_APP_ID=... SUNMI_APP_KEY=... SUNMI_SHOP_NO=... uvicorn --app-dir
examples/webapp --factory fastapi_app:create_app`` (FastAPI is not a dependency of the library).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from sunmi_http import PushReceiver, error_response, read_json_object, read_picture

from sunmi_face_async import AsyncSunmiFace, SunmiError
from sunmi_face_async.models import to_dict

#: Seconds each route gives its SUNMI call, retries included.
ROUTE_DEADLINE = 1.0


def sunmi(request: Request, shop: str) -> AsyncSunmiFace:
    """The app's client for this request's store, bounded by the app's route deadline."""
    client: AsyncSunmiFace = request.app.state.sunmi
    return client.with_shop(sunmi_shop_no=shop).with_options(deadline=request.app.state.deadline)


Sunmi = Annotated[AsyncSunmiFace, Depends(sunmi)]


def create_app(*, deadline: float = ROUTE_DEADLINE, app_key: str | None = None) -> FastAPI:
    """The app. ``app_key`` checks push callbacks (default: ``SUNMI_APP_KEY``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncSunmiFace.from_env() as client:
            app.state.sunmi = client
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.deadline = deadline
    push = app.state.push = PushReceiver(app_key or os.environ["SUNMI_APP_KEY"])
    app.add_route("/sunmi/push", push)

    @app.exception_handler(SunmiError)
    async def on_sunmi_error(request: Request, exc: SunmiError) -> Response:
        return error_response(exc, request.method)

    @app.get("/shops/{shop}/groups")
    async def list_groups(api: Sunmi) -> list[dict[str, Any]]:
        return [to_dict(group) for group in await api.groups.list()]

    @app.post("/shops/{shop}/groups", status_code=201)
    async def create_group(api: Sunmi, request: Request) -> dict[str, Any]:
        body = await read_json_object(request)  # bounded, unlike a Body() parameter
        return to_dict(await api.groups.create(body.get("name", "")))

    @app.get("/shops/{shop}/faces/{face_id}")
    async def get_face(api: Sunmi, face_id: str) -> dict[str, Any]:
        return to_dict(await api.faces.get(face_id))

    @app.post("/shops/{shop}/groups/{group_id}/faces", status_code=201)
    async def add_face(
        api: Sunmi, group_id: str, request: Request, name: Annotated[str | None, Query()] = None
    ) -> JSONResponse:
        """The request body is the picture (JPEG, PNG or BMP); ``?name=`` names the face."""
        picture = await read_picture(request)
        face_id = await api.faces.add(group_id, pic=picture, name=name)
        return JSONResponse({"face_id": face_id}, status_code=201)

    @app.get("/push-events")
    async def push_events() -> list[dict[str, Any]]:
        return push.events

    return app
