"""Per-call options: a transport that shares another's connections but not its timeout, retry
policy or deadline, and the bounds each attempt then runs under. (The switch that turns every
retry off, ``SUNMI_RETRIES=0``, is ``RetryPolicy.switched``.)"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import httpx

from ._attempt import Progress, attempt_limit
from ._deadline import Budget, no_limit
from ._retry import RetryPolicy
from .errors import ValidationError

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = ["bound_attempt", "check_deadline", "derive"]


def check_deadline(deadline: object) -> float | None:
    """A deadline in seconds (None: none), refused unless positive and finite."""
    if deadline is None:
        return None
    if isinstance(deadline, bool) or not isinstance(deadline, int | float):
        raise ValidationError("deadline", "must be a number of seconds or None")
    if not 0 < deadline < math.inf:
        raise ValidationError("deadline", f"must be a positive, finite number; got {deadline!r}")
    return float(deadline)


def derive(
    transport: Transport,
    *,
    timeout: float | httpx.Timeout | None,
    retry: RetryPolicy | None,
    deadline: float | None,
    set_deadline: bool,
) -> Transport:
    """A transport over ``transport``'s connections, key and hooks with the options given
    (None: keep the one it has; ``set_deadline`` says whether ``deadline`` was given)."""
    clone = copy.copy(transport)  # shares the connections, the key and the loop binding
    if timeout is not None:
        clone.timeout = timeout
        clone.call_timeout = httpx.Timeout(timeout)
    if retry is not None:
        clone.retry = retry.switched()
    if set_deadline:
        clone.deadline = deadline
    return clone


def bound_attempt(
    transport: Transport, budget: Budget | None, request: object, progress: Progress
) -> float:
    """The next attempt's total limit for ``Pools.send``: the per-call timeout's (or the
    connections' own), cut to what is left of the call's deadline. A per-call timeout also
    sets the phase timeouts of the request."""
    own: float | None = getattr(transport.connections, "limit", None)
    timeout = transport.call_timeout
    if timeout is not None:
        own = attempt_limit(timeout)
        client = getattr(transport.connections, "client", None)
        if own is not None and client is not None and timeout.pool is not None:
            own += timeout.pool  # a caller's client waits for its pool inside the exchange
        if isinstance(request, httpx.Request):
            request.extensions["timeout"] = timeout.as_dict()
        progress.call_timeout = timeout  # the pool wait, and another backend's phases
        progress.connect_timeout = timeout.connect
    if budget is None:
        return no_limit(own)
    return budget.limit(own, request, progress)
