"""The fake gateway's checks on the common parameters, before any endpoint runs.

Order: required fields present (5020), known integrator (5041), ``random`` well formed
(5092), signature (5090 or HTTP 401), timestamp window (5091), ``random`` not reused
within the window (5092), store given (5041). A request is only remembered (its nonce) once
its signature is valid, so forged requests cannot burn nonces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from ..signing import is_valid_nonce, verify_sign
from ..webhook import ReplayCache
from ._state import FakeAPIError

__all__ = ["AuthFailure", "Gateway"]

AuthFailure = Literal["code", "http401"]


class Gateway:
    """Checks a request's common parameters against the registered integrators."""

    def __init__(
        self,
        apps: Mapping[str, str],
        *,
        window: float,
        clock: Callable[[], float],
        auth_failure: AuthFailure,
        any_credentials: bool = False,
    ) -> None:
        if auth_failure not in ("code", "http401"):
            raise ValueError("auth_failure is 'code' or 'http401'")
        self.apps = apps
        self.window = window
        self.clock = clock
        self.auth_failure = auth_failure
        #: Take any app_id and leave the sign unchecked (``mock_sunmi``: the client's key never
        #: leaves it); the timestamp, nonce and store checks still apply.
        self.any_credentials = any_credentials
        # The webhook's replay cache: entries expire with the window; the cap is far above
        # what a loopback benchmark can send in one window.
        self.nonces = ReplayCache(max_entries=5_000_000)

    def _auth_error(self, code: int, msg: str) -> FakeAPIError:
        if self.auth_failure == "http401" and code == 5090:
            return FakeAPIError(401, msg, http_status=401)
        return FakeAPIError(code, msg)

    def check(self, params: Mapping[str, str]) -> str:
        """Raise :class:`FakeAPIError` unless the request may go on; return the store key."""
        for name in ("app_id", "timestamp", "random"):
            if not params.get(name):
                raise FakeAPIError(5020, f"missing parameter {name}")
        app_key = self.apps.get(params["app_id"])
        if app_key is None and not self.any_credentials:
            raise FakeAPIError(5041, "invalid integrator")
        stamp = params["timestamp"]
        if not (stamp.isascii() and stamp.isdigit()):
            raise FakeAPIError(5020, "timestamp is not unix seconds")
        nonce = params["random"]
        if not is_valid_nonce(nonce):
            raise self._auth_error(5092, "random must be 6 to 10 characters of [A-Za-z0-9]")
        if self.any_credentials:
            if not params.get("sign"):
                raise FakeAPIError(5020, "missing parameter sign")
        elif app_key is None or not verify_sign(params, app_key):
            raise self._auth_error(5090, "signature mismatch")
        now = self.clock()
        if abs(now - int(stamp)) > self.window:
            raise self._auth_error(5091, "timestamp expired")
        if not self.nonces.add(
            (params["app_id"], nonce), expires_at=int(stamp) + self.window, now=now
        ):
            raise self._auth_error(5092, "random was already used")
        shop = params.get("sunmi_shop_no") or params.get("shop_id")
        if not shop:
            raise FakeAPIError(5041, "no sunmi_shop_no or shop_id in the request")
        return shop
