"""Receive SUNMI push callbacks safely.

Subscribe with ``client.hooks.add(url, events)``; SUNMI then POSTs signed, form-encoded
callbacks to ``url`` and retries a failed delivery 4 times, so a receiver must authenticate
each callback and acknowledge duplicates without processing them twice::

    from sunmi_face_async.webhook import PushEvent, callback_app

    async def on_event(event: PushEvent) -> None:
        ...  # store it; raise to have SUNMI deliver it again later

    app = callback_app(on_event, app_key)  # any ASGI server: uvicorn module:app

For other frameworks, call :func:`verify_callback` on the decoded form with a shared
:class:`ReplayCache` and treat :class:`ReplayedCallbackError` as "acknowledge, do nothing".
"""

from __future__ import annotations

from ._webhook_asgi import DEFAULT_REMEMBER, callback_app
from ._webhook_cache import ReplayCache
from ._webhook_events import (
    DEFAULT_MAX_AGE,
    CallbackError,
    ExpiredCallbackError,
    InvalidSignatureError,
    MalformedCallbackError,
    PushEvent,
    ReplayedCallbackError,
    parse_callback,
    verify_callback,
)

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_REMEMBER",
    "CallbackError",
    "ExpiredCallbackError",
    "InvalidSignatureError",
    "MalformedCallbackError",
    "PushEvent",
    "ReplayCache",
    "ReplayedCallbackError",
    "callback_app",
    "parse_callback",
    "verify_callback",
]
