"""Fault injection for the fake cloud: what can go wrong, how often, and the per-request draw.

A :class:`Faults` is plain mutable configuration. For each request that passed gatekeeping
the fake calls :meth:`Faults.draw` with its seeded ``random.Random``, so a run with the same
seed and the same request order injects the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

__all__ = ["Fault", "FaultKind", "Faults"]

FaultKind = Literal["none", "throttle", "error", "drop", "commit_then_timeout"]


@attrs.frozen
class Fault:
    """The draw for one request: wait ``latency`` seconds, then answer as ``kind`` says.

    ``code`` is set for ``kind == "error"``: an HTTP status when it is 500 to 599, otherwise
    an envelope code sent with HTTP 200.
    """

    latency: float = 0.0
    kind: FaultKind = "none"
    code: int | None = None

    @property
    def label(self) -> str:
        """The key this fault is counted under in ``stats.faults_injected``."""
        if self.kind != "error" or self.code is None:
            return self.kind
        return f"http_{self.code}" if 500 <= self.code <= 599 else f"code_{self.code}"


def _rate(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a rate is between 0 and 1, not {value}")
    return value


@attrs.define
class Faults:
    """How the fake misbehaves. Every field may be changed at any time.

    ``latency`` is seconds (or a zero-argument callable returning seconds); ``jitter`` adds a
    uniform ``[0, jitter)`` drawn from the seeded generator. The rates are probabilities per
    request, drawn in this order: throttle, each ``error_rates`` code (ascending), drop,
    commit-then-timeout; their sum must not exceed 1. ``endpoints`` limits the faults (latency
    included) to those paths, e.g. ``{"/face/add"}``; None means every endpoint.

    A drop starts the response and closes the connection before the body: nothing was applied.
    Commit-then-timeout applies the change first, then drops the same way; to the client it is
    indistinguishable from a read timeout after sending (the outcome is unknown). An error
    code 500 to 599 is an HTTP status; any other is an envelope code sent with HTTP 200.
    """

    latency: float | Callable[[], float] = 0.0
    jitter: float = 0.0
    error_rates: dict[int, float] = attrs.field(factory=dict)
    throttle_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    commit_then_timeout_rate: float = 0.0
    endpoints: set[str] | None = None

    def validate(self) -> None:
        """Raise ValueError when the configuration cannot be drawn from."""
        rates = [self.throttle_rate, self.drop_rate, self.commit_then_timeout_rate]
        rates += list(self.error_rates.values())
        if sum(_rate(r) for r in rates) > 1.0 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        if self.jitter < 0 or (not callable(self.latency) and self.latency < 0):
            raise ValueError("latency and jitter cannot be negative")
        if self.retry_after < 0:
            raise ValueError("retry_after cannot be negative")

    def applies_to(self, path: str) -> bool:
        return self.endpoints is None or path in self.endpoints

    def draw(self, rng: random.Random) -> Fault:
        """Decide the fault for one request. Always consumes exactly two numbers of ``rng``."""
        base = self.latency() if callable(self.latency) else self.latency
        latency = base + self.jitter * rng.random()
        pick = rng.random()
        for kind, code, rate in self._outcomes():
            if pick < rate:
                return Fault(latency, kind, code)
            pick -= rate
        return Fault(latency)

    def _outcomes(self) -> list[tuple[FaultKind, int | None, float]]:
        outcomes: list[tuple[FaultKind, int | None, float]] = [
            ("throttle", None, self.throttle_rate)
        ]
        outcomes += [("error", code, self.error_rates[code]) for code in sorted(self.error_rates)]
        outcomes.append(("drop", None, self.drop_rate))
        outcomes.append(("commit_then_timeout", None, self.commit_then_timeout_rate))
        return outcomes

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set fields from a JSON-like mapping (the admin endpoint's body); validates after."""
        known = {f.name for f in attrs.fields(Faults)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        for name, value in changes.items():
            if name == "error_rates":
                value = {int(code): float(rate) for code, rate in dict(value).items()}
            elif name == "endpoints":
                value = None if value is None else set(value)
            elif name in ("retry_after",):
                value = int(value)
            elif name != "latency" or not callable(value):
                value = float(value)
            setattr(self, name, value)
        self.validate()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (a callable latency shows as null)."""
        return {
            "latency": None if callable(self.latency) else self.latency,
            "jitter": self.jitter,
            "error_rates": {str(code): rate for code, rate in sorted(self.error_rates.items())},
            "throttle_rate": self.throttle_rate,
            "retry_after": self.retry_after,
            "drop_rate": self.drop_rate,
            "commit_then_timeout_rate": self.commit_then_timeout_rate,
            "endpoints": None if self.endpoints is None else sorted(self.endpoints),
        }
