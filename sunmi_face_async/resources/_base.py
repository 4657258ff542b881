"""What every resource holds: the shared transport and the store the calls address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._endpoints import Endpoint
from .._transport import Transport


class Resource:
    __slots__ = ("_shop", "_transport")

    def __init__(self, transport: Transport, shop: Mapping[str, str]) -> None:
        self._transport = transport
        self._shop = shop

    async def _call(
        self, endpoint: Endpoint, params: Mapping[str, object], *, pic: bytes | None = None
    ) -> Any:
        return await self._transport.call(endpoint, params, self._shop, pic=pic)
