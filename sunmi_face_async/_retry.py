"""When to try a call again, and how long to wait first: a pure decision plus a policy.

The transport classifies each failed attempt into a :class:`Failure` and asks
:func:`next_delay` whether to go again. Keeping the rule pure makes it testable without a
network or a clock, and keeps the one retry loop in the transport short.
"""

from __future__ import annotations

import enum
import math
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import anyio
import attrs

from .errors import ValidationError

__all__ = ["RETRIES_SWITCH", "Failure", "RetryPolicy", "next_delay", "parse_retry_after"]

#: The environment variable whose value 0 turns every retry off (``RetryPolicy.switched``).
RETRIES_SWITCH = "SUNMI_RETRIES"


class Failure(enum.Enum):
    """What went wrong with one attempt, as far as retrying is concerned."""

    NOT_SENT = "not sent"  # connect error or pool timeout: the server never saw it
    OUTCOME_UNKNOWN = "outcome unknown"  # read timeout, reset after sending, gateway 5xx
    SERVER = "server error"  # 5000 or HTTP 5xx: transient, but may have been applied
    THROTTLED = "throttled"  # HTTP 429: refused before processing
    CLOCK = "clock skew"  # 5091: refused before processing; a fresh timestamp may pass
    NONCE = "nonce"  # 5092: refused before processing; a fresh random may pass
    FINAL = "final"  # anything else: retrying cannot help


def _full_jitter(upper: float) -> float:
    return random.uniform(0.0, upper)


@attrs.frozen
class RetryPolicy:
    """How persistent the client is.

    ``max_attempts`` counts every attempt of one call, the first included. The wait before
    retry ``n`` is a uniform draw from ``[0, min(cap, base * 2**(n-1))]`` ("full jitter"),
    unless the server sent ``Retry-After``, which wins (up to ``max_retry_after``). ``sleep``
    and ``jitter`` are injectable so tests run without waiting.

    How long a call can take: each attempt first waits at most the pool timeout for a free
    connection, then runs for at most its total limit (the largest of the connect, write and
    read timeouts; the float when the timeout is a number). Opening a connection is never cut
    short, since a cancelled TLS handshake would leak its socket: it is bounded by its own
    connect timeout per phase (TCP connect, TLS handshake), so an attempt that opens one ends
    within ``max(limit, 2 * connect + 1)`` seconds. Between attempts the client waits at most
    ``max(backoff_cap, max_retry_after)``. So a call ends within
    ``max_attempts * (pool + attempt) + (max_attempts - 1) * max(backoff_cap, max_retry_after)``
    seconds (``longest_call``), plus the time to read a picture file. With the defaults and
    ``timeout=30`` (limit 30, and 61 when a connection is opened): at most
    4 * (30 + 61) + 3 * 60 = 544 s, and 4 * 60 + 3 * 60 = 420 s when the server answers each
    connection attempt promptly. A call that is never retried ends within pool + attempt.

    ``total`` (seconds, None for none) bounds a whole call with all its retries, as a call
    deadline does (``AsyncSunmiFace.with_options(deadline=...)``; the smaller of the two
    applies): no attempt or wait starts that could not end before it, an attempt in flight is
    cut off when it comes, and the call raises ``DeadlineExceededError``.
    ``RetryPolicy.none()`` is the policy of one attempt; ``SUNMI_RETRIES=0`` in the
    environment turns retries off for every client built while it is set.
    """

    max_attempts: int = 4
    backoff_base: float = 0.25
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0
    total: float | None = None
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=anyio.sleep, repr=False)
    jitter: Callable[[float], float] = attrs.field(default=_full_jitter, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff times cannot be negative")
        if self.total is not None and (
            isinstance(self.total, bool) or not 0 < self.total < math.inf
        ):
            raise ValueError(
                f"total must be a positive, finite number of seconds; got {self.total!r}"
            )

    @classmethod
    def none(cls) -> RetryPolicy:
        """One attempt, no retry: errors surface at once (for tests and strict callers)."""
        return cls(max_attempts=1)

    def switched(self, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """This policy, or one attempt only when ``SUNMI_RETRIES=0`` is set: the one switch
        that turns retries off everywhere (every client, and the bulk layer's own tries), for
        test suites that want each failure at once whichever policy the code chose."""
        value = (os.environ if environ is None else environ).get(RETRIES_SWITCH, "").strip()
        if value in ("", "1"):
            return self
        if value != "0":
            raise ValidationError(
                RETRIES_SWITCH, f"must be 0 (retries off) or 1 (on); got {value!r}"
            )
        return self if self.max_attempts == 1 else attrs.evolve(self, max_attempts=1)

    def longest_call(self, *, attempt: float, pool_wait: float) -> float:
        """The most seconds a call can take when one attempt takes at most ``attempt`` and
        waiting for a connection at most ``pool_wait`` (see the class docstring)."""
        wait = max(self.backoff_cap, self.max_retry_after)
        longest = self.max_attempts * (pool_wait + attempt) + (self.max_attempts - 1) * wait
        # A total cuts the call off, but an attempt opening a connection ends only after it.
        return longest if self.total is None else min(longest, self.total + attempt)

    def backoff(self, retry_number: int) -> float:
        """The jittered wait before retry ``retry_number`` (1 for the first retry)."""
        upper = min(self.backoff_cap, self.backoff_base * 2.0 ** (retry_number - 1))
        drawn: float = self.jitter(upper)
        return min(max(drawn, 0.0), upper)


#: No retry policy: one attempt, errors surface at once.
NO_RETRY = RetryPolicy(max_attempts=1)


def next_delay(
    failure: Failure,
    *,
    creates: bool,
    attempt: int,
    policy: RetryPolicy,
    retry_after: float | None = None,
    quick_retries_used: int = 0,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    ``attempt`` is the number of the attempt that just failed (1-based). ``creates`` marks a
    call that creates something (``/face/add``, ``/face/group/create``): those are repeated
    only when the server surely did not act on them.
    """
    if failure is Failure.FINAL or attempt >= policy.max_attempts:
        return None
    if failure in (Failure.CLOCK, Failure.NONCE):
        # Re-signing fixes these at once; more than one such retry means a real problem.
        return 0.0 if quick_retries_used == 0 else None
    if failure in (Failure.OUTCOME_UNKNOWN, Failure.SERVER) and creates:
        return None
    if retry_after is not None:  # the server's own hint wins over our backoff
        return min(retry_after, policy.max_retry_after)
    return policy.backoff(attempt)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)
