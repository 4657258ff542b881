"""What bulk operations hand back: one ``ItemResult`` per item, events, progress and a report."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._naming import describe, label

__all__ = ["BulkEvent", "EnrollReport", "ItemResult", "Outcome", "Progress"]


class Outcome(str, enum.Enum):
    """How one item ended."""

    DONE = "done"
    FAILED = "failed"
    #: Already done according to the journal (a resumed job).
    SKIPPED = "skipped"
    #: The same picture was already sent to the same group in this job.
    DUPLICATE = "duplicate"
    #: Sent, but whether the server applied it is unknown; not sent again (see the report).
    UNKNOWN = "unknown"
    #: A bad manifest row or a bad picture; nothing was sent.
    INVALID = "invalid"
    #: ``dry_run``: valid and would be sent.
    CHECKED = "checked"
    #: Accepted (a face_id came back), then refused by the platform: with ``confirm``, not
    #: in the group when listed, or a push said so.
    REJECTED = "rejected"
    #: Accepted, but ``confirm`` got no word on it within ``confirm_wait``: not known to be
    #: in place (a resumed job confirms it again).
    UNCONFIRMED = "unconfirmed"

    @property
    def is_done(self) -> bool:
        """In place: sent and applied, done by an earlier run, or (dry run) fit to send."""
        return self in _DONE

    @property
    def is_failure(self) -> bool:
        """Not known to be in place: failed, invalid, or unknown. A command's exit status
        and the progress bars count these as failed."""
        return self in _FAILURE

    @property
    def is_retryable(self) -> bool:
        """What running the job again (from its journal) may still change: failed or
        unknown (an invalid item stays invalid)."""
        return self in _RETRYABLE

    @property
    def progress_field(self) -> str:
        """The ``Progress`` count it adds to: ``done``, ``skipped``, ``failed`` or ``unknown``."""
        return _PROGRESS_FIELD[self]


# The one place that says how each outcome counts (a DUPLICATE is neither done nor failed:
# it repeats another item of the job).
_DONE = frozenset({Outcome.DONE, Outcome.SKIPPED, Outcome.CHECKED})
_FAILURE = frozenset(
    {Outcome.FAILED, Outcome.INVALID, Outcome.UNKNOWN, Outcome.REJECTED, Outcome.UNCONFIRMED}
)
_RETRYABLE = frozenset({Outcome.FAILED, Outcome.UNKNOWN, Outcome.UNCONFIRMED})
_PROGRESS_FIELD = {
    Outcome.DONE: "done",
    Outcome.CHECKED: "done",
    Outcome.SKIPPED: "skipped",
    Outcome.DUPLICATE: "skipped",
    Outcome.FAILED: "failed",
    Outcome.INVALID: "failed",
    Outcome.UNKNOWN: "unknown",
    Outcome.REJECTED: "failed",
    Outcome.UNCONFIRMED: "unknown",
}


@attrs.frozen
class ItemResult:
    """The end of one item: ``key`` identifies it, ``line`` is its manifest line if any."""

    key: str
    outcome: Outcome
    face_id: str | None = None
    error: str | None = None
    line: int | None = None
    item: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def ok(self) -> bool:
        """The item is in place (``Outcome.is_done``)."""
        return self.outcome.is_done


@attrs.frozen
class BulkEvent:
    """Something worth logging: ``kind`` is one of ``item_done``, ``retry``, ``reconcile``,
    ``page``, ``limit``, ``abandoned``."""

    kind: str
    key: str | None = None
    outcome: Outcome | None = None
    attempt: int | None = None
    detail: str = ""
    elapsed: float = 0.0


@attrs.frozen
class Progress:
    """A snapshot for progress bars; ``total`` is None when the input has no length."""

    done: int
    failed: int
    skipped: int
    unknown: int
    total: int | None
    in_flight: int
    elapsed: float
    rate: float
    #: What the job is doing besides uploading, e.g. ``reconciling 32``; empty otherwise.
    phase: str = ""

    @property
    def finished(self) -> int:
        """Items finished, whatever their outcome."""
        return self.done + self.skipped + self.failed + self.unknown

    @property
    def failures(self) -> int:
        """Items not known to be in place (``Outcome.is_failure``): failed or unknown."""
        return self.failed + self.unknown


@attrs.define
class EnrollReport:
    """Counts by outcome, the failures with their reasons, elapsed time and throughput.

    ``failures`` (key, reason) and ``unknown`` (keys) keep the first ``max_listed`` failed,
    invalid or unknown items; ``listed`` names them for people (manifest line, file, name,
    external key, reason; see ``ItemResult``), duplicates too. ``max_listed=None`` keeps
    every one. The counts are always complete.
    """

    counts: dict[Outcome, int] = attrs.field(factory=lambda: dict.fromkeys(Outcome, 0))
    failures: list[tuple[str, str]] = attrs.field(factory=list)
    unknown: list[str] = attrs.field(factory=list)
    listed: list[dict[str, Any]] = attrs.field(factory=list)
    elapsed: float = 0.0
    sent: int = 0
    max_listed: int | None = 1000
    cancelled: bool = False
    #: The confirmation the job made: None, ``"listing"`` or ``"push"``.
    confirm: str | None = None
    #: Accepted items the confirmation found in place (they end DONE or SKIPPED).
    confirmed: int = 0
    #: Outcome counts per store (``sunmi_shop_no``; ``""``: the client's own store), each
    #: store's outcomes that occurred, by value (``{"S1": {"done": 3}}``).
    by_store: dict[str, dict[str, int]] = attrs.field(factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failures_count(self) -> int:
        """Items not known to be in place (``Outcome.is_failure``): failed, invalid, unknown."""
        return sum(n for outcome, n in self.counts.items() if outcome.is_failure)

    @property
    def accepted(self) -> int:
        """Items the platform accepted (a face_id came back, in this run or an earlier one).

        Without ``confirm`` they are the DONE and SKIPPED items, none of them confirmed;
        with it, each one is confirmed, rejected or unconfirmed."""
        if self.confirm is None:
            return self.counts[Outcome.DONE] + self.counts[Outcome.SKIPPED]
        return self.confirmed + self.counts[Outcome.REJECTED] + self.counts[Outcome.UNCONFIRMED]

    @property
    def confirmation(self) -> dict[str, Any]:
        """``mode``, ``accepted``, ``confirmed``, ``rejected`` and ``unconfirmed``."""
        return {
            "mode": self.confirm,
            "accepted": self.accepted,
            "confirmed": self.confirmed,
            "rejected": self.counts[Outcome.REJECTED],
            "unconfirmed": self.counts[Outcome.UNCONFIRMED],
        }

    @property
    def throughput(self) -> float:
        """Items finished per second."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    def add(self, result: ItemResult) -> None:
        self.counts[result.outcome] += 1
        shop = getattr(result.item, "sunmi_shop_no", None) or ""
        counts = self.by_store.setdefault(shop, {})
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
        if result.outcome in (Outcome.FAILED, Outcome.INVALID, Outcome.REJECTED):
            if self._room(self.failures):
                where = f"line {result.line}: " if result.line is not None else ""
                self.failures.append((result.key, where + (result.error or "")))
        elif result.outcome is Outcome.UNKNOWN and self._room(self.unknown):
            self.unknown.append(result.key)
        _listed = (*_FAILURE, Outcome.DUPLICATE)
        if result.outcome in _listed and self._room(self.listed):
            named = describe(result.item, result.line)
            self.listed.append(
                {"outcome": result.outcome.value, **named, "reason": result.error or ""}
            )

    def _room(self, kept: list[Any]) -> bool:
        return self.max_listed is None or len(kept) < self.max_listed

    def named(self, *outcomes: Outcome) -> list[dict[str, Any]]:
        """The listed items with these outcomes, each with a ``label`` for people."""
        wanted = {o.value for o in outcomes}
        return [{**i, "label": label(i)} for i in self.listed if i["outcome"] in wanted]

    def progress(
        self, total: int | None, in_flight: int, elapsed: float, phase: str = ""
    ) -> Progress:
        """A ``Progress`` snapshot of the counts so far."""
        fields = dict.fromkeys(("done", "skipped", "failed", "unknown"), 0)
        for outcome, n in self.counts.items():
            fields[outcome.progress_field] += n
        return Progress(
            **fields,
            total=total,
            in_flight=in_flight,
            elapsed=elapsed,
            rate=self.total / elapsed if elapsed > 0 else 0.0,
            phase=phase,
        )

    @property
    def advice(self) -> str:
        """How to resolve items whose outcome is unknown."""
        if not self.counts[Outcome.UNKNOWN]:
            return ""
        return (
            "Some uploads may or may not have been applied. Check those faces in their group, "
            "or run again with external_key_slot set (and an external key per item) so the "
            "journal reconciles them by listing the group instead of uploading twice."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": {outcome.value: n for outcome, n in self.counts.items()},
            "total": self.total,
            "sent": self.sent,
            "items": list(self.listed),
            "advice": self.advice,
            "elapsed": round(self.elapsed, 3),
            "throughput": round(self.throughput, 1),
            "cancelled": self.cancelled,
            "confirmation": self.confirmation,
            "by_store": {shop: dict(counts) for shop, counts in self.by_store.items()},
        }
