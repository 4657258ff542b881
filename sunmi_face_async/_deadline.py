"""A call's deadline: how much of it is left for the next attempt, and the error once it is out.

A call with a deadline (``with_options(deadline=...)``) or a retry policy with a ``total``
gets one :class:`Budget`. Before each attempt the transport asks it for the attempt's limit:
the attempt's own limit, cut to the time left, so an attempt in flight ends when the deadline
comes. Before each retry it asks whether the wait and a new attempt still fit; if not, the call
ends now rather than sleeping into the deadline. A timeout of an attempt the deadline cut
short, and a retry that no longer fits, become one :class:`DeadlineExceededError` saying that
the deadline, not an attempt, ran out.
"""

from __future__ import annotations

import math

import anyio
import httpx

from ._attempt import Progress
from ._endpoints import Endpoint
from .errors import APIError, DeadlineExceededError, RequestTimeout, SunmiError, TransportError

__all__ = ["MIN_ATTEMPT", "Budget", "start_budget"]

#: A retry is only started when at least this many seconds are left after its wait: an
#: attempt with less would almost surely be cut off before it could finish.
MIN_ATTEMPT = 0.05
_SLACK = 0.001


def start_budget(deadline: float | None, total: float | None) -> Budget | None:
    """The budget of a call starting now (None when neither bound is set)."""
    if deadline is None and total is None:
        return None
    if total is None or (deadline is not None and deadline <= total):
        assert deadline is not None
        return Budget(deadline, f"{deadline:g} s deadline")
    return Budget(total, f"retry policy's {total:g} s total")


class Budget:
    """What is left of one call's deadline, and whether any attempt may have been applied."""

    __slots__ = ("capped", "ends", "maybe_applied", "name", "seconds")

    def __init__(self, seconds: float, name: str) -> None:
        self.seconds = seconds
        self.name = name
        self.ends = anyio.current_time() + seconds
        self.capped = False  # whether the last attempt's limit was cut to the time left
        self.maybe_applied = False

    def left(self) -> float:
        return self.ends - anyio.current_time()

    def limit(self, own: float | None, request: object, progress: Progress) -> float:
        """The next attempt's limit: its own (None: no limit), cut to the time left.

        When cut, each phase timeout of an httpx request is cut too, and so is the time a
        connection may take to open (which is otherwise never cut short).
        """
        left = max(self.left(), 0.0)
        progress.ends = self.ends  # a wait for a connection uses up the same time
        self.capped = own is None or left < own
        if not self.capped:
            assert own is not None
            return own
        cap_phases(request, progress, left)
        return left

    def judge(self, error: SunmiError, attempt: int, endpoint: Endpoint) -> None:
        """Note whether the failed attempt may have been applied, and raise
        ``DeadlineExceededError`` when it timed out because the deadline cut it short."""
        if isinstance(error, TransportError):
            self.maybe_applied = self.maybe_applied or error.sent
        elif isinstance(error, APIError):
            self.maybe_applied = self.maybe_applied or error.outcome_unknown
        # Cut short: capped from the start, or cut to the deadline after a wait for a
        # connection (the deadline came, within the event loop's timer slack).
        if isinstance(error, RequestTimeout) and (self.capped or self.left() <= _SLACK):
            raise self._exceeded(
                f"ran out during attempt {attempt}", attempt, endpoint, None
            ) from error

    def check_retry(
        self, delay: float, error: SunmiError, attempt: int, endpoint: Endpoint
    ) -> None:
        """Raise ``DeadlineExceededError`` unless a wait of ``delay`` and a new attempt of at
        least MIN_ATTEMPT fit in the time left."""
        if delay + MIN_ATTEMPT < self.left():
            return
        raise self._exceeded(
            f"leaves no time to retry after attempt {attempt} ({type(error).__name__}: {error})",
            attempt,
            endpoint,
            error,
        ) from error

    def _exceeded(
        self, what: str, attempts: int, endpoint: Endpoint, last: SunmiError | None
    ) -> DeadlineExceededError:
        return DeadlineExceededError(
            f"the call's {self.name} {what}",
            endpoint=endpoint.path,
            sent=self.maybe_applied,
            deadline=self.seconds,
            attempts=attempts,
            last_error=last,
        )


def cap_phases(request: object, progress: Progress, seconds: float) -> None:
    """Cut an httpx request's phase timeouts, and the connection's opening, to ``seconds``."""
    seconds = max(seconds, 0.0)
    if isinstance(request, httpx.Request):
        phases = request.extensions.get("timeout")
        if isinstance(phases, dict):
            request.extensions["timeout"] = {
                name: seconds if value is None else min(value, seconds)
                for name, value in phases.items()
            }
    if progress.connect_timeout is None or progress.connect_timeout > seconds:
        progress.connect_timeout = seconds


def no_limit(limit: float | None) -> float:
    """A limit in the form ``Pools.send`` takes (``math.inf`` for none)."""
    return math.inf if limit is None else limit
