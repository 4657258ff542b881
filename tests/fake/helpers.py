"""Helpers for the fake cloud's tests: raw requests signed by the reference signer, and the two
surfaces."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import attrs
import httpx

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.testing import FakeSunmiCloud
from tests._reference import reference_sign

APP_ID = "FAKEAPP0000001"
APP_KEY = "fake-app-key-0123456789"
IN_PROCESS_URL = "http://fake.sunmi.test/openapi"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)
shop_numbers = itertools.count(100_000_000_001)
_nonces = itertools.count(1)


def fresh_nonce() -> str:
    return f"n{next(_nonces):09d}"


class RawApi:
    """Signed raw httpx requests, built without the package's client or signer."""

    def __init__(self, http: httpx.AsyncClient, shop_no: str) -> None:
        self.http = http
        self.shop_no = shop_no

    def common(self, **overrides: str) -> dict[str, str]:
        params = {
            "app_id": APP_ID,
            "timestamp": str(int(time.time())),
            "random": fresh_nonce(),
            "sunmi_shop_no": self.shop_no,
        }
        params.update(overrides)
        return params

    def signed(self, params: dict[str, str], secret: str = APP_KEY) -> dict[str, str]:
        return {**params, "sign": reference_sign(params, secret)}

    async def post(self, path: str, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        return await self.http.post(path, data=form, **kwargs)

    async def call(self, path: str, **params: str) -> dict[str, Any]:
        """POST ``params`` plus the common ones, signed; return the envelope."""
        response = await self.post(path, self.signed({**self.common(), **params}))
        assert response.status_code == 200, response.text
        envelope: dict[str, Any] = response.json()
        return envelope

    async def add_face(self, group_id: str, pic: bytes = PNG, **params: str) -> dict[str, Any]:
        form = self.signed({**self.common(), "group_id": group_id, **params})
        files = {"pic": ("face.png", pic, "image/png")}
        response = await self.http.post("/face/add", data=form, files=files)
        envelope: dict[str, Any] = response.json()
        return envelope

    async def create_group(self, name: str, **params: str) -> str:
        """Create a custom group and return its id (looked up by name)."""
        created = await self.call("/face/group/create", name=name, type="5", **params)
        assert created["code"] == 0, created
        listed = await self.call("/face/group/getList")
        return next(g["group_id"] for g in listed["data"]["group_list"] if g["group_name"] == name)


class Surface:
    """One way of reaching a fake: in-process or over loopback uvicorn, plus its admin side."""

    def __init__(
        self, kind: str, base_url: str, shop_no: str, cloud: FakeSunmiCloud | None = None
    ) -> None:
        self.kind = kind
        self.base_url = base_url
        self.shop_no = shop_no
        self.cloud = cloud

    def transport(self) -> httpx.AsyncBaseTransport | None:
        return self.cloud.transport() if self.cloud is not None else None

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, transport=self.transport())

    def client(self, **kwargs: Any) -> AsyncSunmiFace:
        options: dict[str, Any] = {"base_url": self.base_url, "transport": self.transport()}
        options.update(kwargs)
        return AsyncSunmiFace(APP_ID, APP_KEY, sunmi_shop_no=self.shop_no, **options)

    async def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        admin_url = self.base_url.removesuffix("/openapi") + "/_fake"
        async with httpx.AsyncClient(base_url=admin_url) as http:
            response = await http.request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()

    async def faces_in(self, group_id: str) -> list[dict[str, Any]]:
        """The server's truth about a group, as wire dicts (getInfo form)."""
        if self.cloud is not None:
            store = self.cloud.shop_state(self.shop_no)
            group = store.groups[group_id]
            return [f.wire(group.name, list_form=False) for f in group.faces.values()]
        result: list[dict[str, Any]] = await self._admin(
            "GET", "/faces", params={"group_id": group_id, "shop_no": self.shop_no}
        )
        return result

    async def simulate_arrival(self, face_id: str, at: int | None = None) -> None:
        if self.cloud is not None:
            self.cloud.simulate_arrival(face_id, self.shop_no, at)
        else:
            body = {"face_id": face_id, "shop_no": self.shop_no, "at": at}
            await self._admin("POST", "/arrival", json=body)

    async def shop_settings(self) -> dict[str, Any]:
        """The shop's move strategy (a dict or None) and hooks (URL -> sorted event codes)."""
        if self.cloud is not None:
            strategy = self.cloud.move_strategy(self.shop_no)
            hooks = self.cloud.hooks(self.shop_no)
            return {
                "move_strategy": None if strategy is None else attrs.asdict(strategy),
                "hooks": {url: sorted(events) for url, events in hooks.items()},
            }
        result: dict[str, Any] = await self._admin("GET", "/shop", params={"shop_no": self.shop_no})
        return result

    async def set_faults(self, **changes: Any) -> None:
        if self.cloud is not None:
            self.cloud.faults.update(changes)
        else:
            await self._admin("POST", "/faults", json=changes)


def envelope_json(response: httpx.Response) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(response.content)
    return value
