"""One attempt's time limit and progress: when it must end, and whether it may have been sent.

httpcore reports the phases of an exchange through the ``trace`` extension. Two facts follow
from them. Until it starts sending the request line and headers, the server cannot act on the
request, so an attempt cut off before then was "not sent". And while a connection is being
opened (TCP connect, TLS handshake) the attempt must not be cancelled from outside: httpcore
closes a half-open socket on its own errors, but not on a cancellation, which would leak it.
So during those phases the attempt's deadline is pushed out past the phase's own connect
timeout, and once the connection is up the attempt either goes on under its own deadline or,
when that (or the client's closing) came meanwhile, stops right there, before writing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import anyio
import httpx

__all__ = ["Closed", "DeadlineExceeded", "Progress", "attempt_limit"]

#: Slack given to httpcore's own connect timeout before the attempt's deadline applies.
CONNECT_GRACE = 0.5
_CONNECTING = ("connect_tcp.started", "connect_unix_socket.started", "start_tls.started")
_CONNECT_PHASES = (".connect_tcp.", ".connect_unix_socket.", ".start_tls.")


def attempt_limit(timeout: httpx.Timeout) -> float | None:
    """The total time one attempt may take: the largest of the connect, write and read
    timeouts (None, "no limit", when any of them is None).

    The largest component, not their sum: each phase is already bounded on its own, and the
    total exists to stop a server that keeps every single read short (a byte a second, an
    endless slow body) from holding an attempt for ever.
    """
    parts = (timeout.connect, timeout.write, timeout.read)
    if any(part is None for part in parts):
        return None
    return max(part for part in parts if part is not None)


class DeadlineExceeded(httpx.TimeoutException):
    """The attempt ran past its total time limit; ``sent`` says whether it may have been
    written (the transport maps it to ``RequestTimeout``)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Closed(httpx.TransportError):
    """The client was closed before or during the attempt (mapped to ``ClientClosedError``)."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class Progress:
    """How far one attempt got, and the cancel scope that bounds it.

    ``traced`` says the transport is known to report its phases (the owned pools); for one
    that reports nothing (a MockTransport, a caller's mounted transport) an attempt cut off
    after it started counts as "maybe sent".
    """

    __slots__ = (
        "call_timeout",
        "connect_timeout",
        "connecting",
        "deadline",
        "ends",
        "limit",
        "observed",
        "scope",
        "started",
        "stop",
        "traced",
        "written",
    )

    def __init__(self, *, traced: bool, connect_timeout: float | None = None) -> None:
        self.traced = traced
        self.connect_timeout = connect_timeout
        self.started = self.observed = self.written = self.connecting = False
        self.scope: anyio.CancelScope | None = None
        self.deadline = math.inf
        self.limit: float | None = None
        self.stop: Closed | None = None  # set by aclose while a connection is being opened
        # A call's deadline (anyio time) that no wait for a connection may push the attempt
        # past, and a per-call timeout (with_options): its pool wait, and its phases for
        # backends that take them per request.
        self.ends = math.inf
        self.call_timeout: httpx.Timeout | None = None

    def run_within(self, scope: anyio.CancelScope, limit: float | None) -> None:
        """Start the attempt under ``scope``, whose deadline is the attempt's."""
        self.scope = scope
        self.deadline = scope.deadline
        self.limit = limit
        self.started = True

    def interrupt(self, scope: anyio.CancelScope) -> None:
        """Stop the attempt for ``aclose``: at once, unless a connection is being opened,
        in which case it stops as soon as that is done (a cancellation would leak it)."""
        if self.connecting:
            self.stop = Closed("the client was closed during the call", sent=False)
        else:
            scope.cancel()

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        self.observed = True
        if event.endswith(_CONNECTING):
            self.connecting = True
            if self.scope is not None and self.connect_timeout is not None:
                wait = anyio.current_time() + self.connect_timeout + CONNECT_GRACE
                self.scope.deadline = max(self.scope.deadline, wait)
            return
        if any(phase in event for phase in _CONNECT_PHASES):
            return  # a phase of opening the connection ended: the next one may follow
        if self.connecting:
            self._connected()
        if "send_request" in event:
            self.written = True

    def _connected(self) -> None:
        """The connection is up and nothing was written: stop now if the attempt is over."""
        self.connecting = False
        if self.stop is not None:
            raise self.stop
        if self.scope is not None:
            if anyio.current_time() >= self.deadline:
                raise DeadlineExceeded(self.overdue(), sent=False)
            self.scope.deadline = self.deadline

    def overdue(self) -> str:
        return f"the attempt took longer than its {self.limit or 0:g} s limit"

    @property
    def maybe_sent(self) -> bool:
        """Whether the server may have seen the request (when in doubt, True)."""
        if not self.started:
            return False
        return self.written or not (self.traced or self.observed)
