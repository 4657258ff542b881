"""``ThreadedFakeServer`` quiets only its own server's log records: an app the test serves
with uvicorn in the same process keeps every message on the shared ``uvicorn.error`` logger."""

from __future__ import annotations

import asyncio
import logging
import threading

from sunmi_face_async.testing import ThreadedFakeServer


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_app_s_own_uvicorn_messages_still_reach_the_log_during_and_after() -> None:
    log = logging.getLogger("uvicorn.error")
    filters_before = list(log.filters)
    keep = _Keep()
    try:
        with ThreadedFakeServer():
            log.addHandler(keep)  # after uvicorn configured its loggers (which drops handlers)
            log.error("app: a request was cancelled", exc_info=asyncio.CancelledError())
        with ThreadedFakeServer():
            log.addHandler(keep)
        log.error("app: the shutdown", exc_info=asyncio.CancelledError())
        log.error("Cancel 2 running task(s), timeout graceful shutdown exceeded")
        with ThreadedFakeServer():
            log.addHandler(keep)
            fake_s = threading.Thread(  # what the fake's own server thread logs: hidden
                target=lambda: log.error("fake: cancelled", exc_info=asyncio.CancelledError()),
                name="sunmi-fake-server",
            )
            fake_s.start()
            fake_s.join(5)
    finally:
        log.removeHandler(keep)
    assert keep.messages == [
        "app: a request was cancelled",
        "app: the shutdown",
        "Cancel 2 running task(s), timeout graceful shutdown exceeded",
    ]
    assert len(log.filters) <= len(filters_before) + 1  # two servers add one filter at most
