"""Receive SUNMI push callbacks safely.

Subscribe with ``client.hooks.add(url, events)``; SUNMI then POSTs signed, form-encoded
callbacks to ``url`` and retries a failed delivery 4 times, so a receiver must authenticate
each callback and acknowledge duplicates without processing them twice::

    from sunmi_face_async.webhook import PushEvent, callback_app

    async def on_event(event: PushEvent) -> None:
        ...  # store it; raise to have SUNMI deliver it again later

    app = callback_app(on_event, app_key)  # any ASGI server: uvicorn module:app

For other frameworks, call :func:`verify_callback` on the decoded form with a shared
:class:`ReplayCache` and treat :class:`ReplayedCallbackError` as "acknowledge, do nothing"
and :class:`ReplayCacheFullError` as "answer 503 with ``Retry-After``, do nothing".

A replay inside the timestamp window is never processed twice: a replay cache never forgets
an unexpired entry, and refuses new ones while it is full. :class:`ReplayCache` lives in
memory (one process, lost on restart); :class:`SqliteReplayCache` keeps the entries in a file
shared by restarts and worker processes: ``callback_app(on_event, app_key,
cache=SqliteReplayCache("replay.sqlite"))``.
"""

from __future__ import annotations

from ._asgi import DEFAULT_LEASE, DEFAULT_REMEMBER, callback_app
from ._cache import ReplayCache, ReplayCacheError, ReplayCacheFullError, ReplayStore
from ._events import (
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
from ._sqlite import SqliteReplayCache

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_MAX_AGE",
    "DEFAULT_REMEMBER",
    "CallbackError",
    "ExpiredCallbackError",
    "InvalidSignatureError",
    "MalformedCallbackError",
    "PushEvent",
    "ReplayCache",
    "ReplayCacheError",
    "ReplayCacheFullError",
    "ReplayStore",
    "ReplayedCallbackError",
    "SqliteReplayCache",
    "callback_app",
    "parse_callback",
    "verify_callback",
]
