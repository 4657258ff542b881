"""``client.hooks``: subscribe a URL to push notifications, and unsubscribe it.

The callbacks themselves are checked and parsed by ``sunmi_face_async.webhook``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import _endpoints as ep
from .. import _validate as check
from ..errors import ValidationError
from ._base import Resource

__all__ = ["Hooks"]


def _callback_url(value: object) -> str:
    url = check.nonempty_str("http_callback", value)
    if not url.startswith(("http://", "https://")):
        raise ValidationError("http_callback", "must be an http:// or https:// URL")
    return url


def _events(value: object) -> list[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise ValidationError("events", "must be a non-empty list of event codes")
    return [check.positive_int(f"events[{i}]", event) for i, event in enumerate(value)]


class Hooks(Resource):
    """Notification-centre subscriptions of one store (``/hook/add``, ``/hook/delete``)."""

    __slots__ = ()

    async def add(self, http_callback: str, events: Sequence[int]) -> None:
        """Ask SUNMI to POST signed callbacks for ``events`` to ``http_callback``."""
        params: dict[str, object] = {
            "http_callback": _callback_url(http_callback),
            "event_list": _events(events),
        }
        await self._call(ep.HOOK_ADD, self._with_shop_id(params))

    async def delete(self, events: Sequence[int], http_callback: str | None = None) -> None:
        """Stop the callbacks for ``events`` (and, if given, only to ``http_callback``)."""
        params: dict[str, object] = {
            "event_list": _events(events),
            "http_callback": None if http_callback is None else _callback_url(http_callback),
        }
        await self._call(ep.HOOK_DELETE, self._with_shop_id(params))

    def _with_shop_id(self, params: dict[str, object]) -> dict[str, object]:
        # The vendor documents shop_id for hooks; when only sunmi_shop_no is known, send it
        # under both names (the common parameters already carry sunmi_shop_no).
        if "shop_id" not in self._shop:
            params["shop_id"] = self._shop.get("sunmi_shop_no")
        return params
