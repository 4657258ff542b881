"""The bookkeeping of a running enrollment: the report, events, progress and the phase.

Every finished item passes through ``finish`` (counted, an ``item_done`` event, a progress
snapshot); the phase and the retries waiting are shown through the same callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from ._options import EnrollOptions
from ._policy import fallback_key
from ._results import BulkEvent, EnrollReport, ItemResult, Outcome
from ._tracking import Tracker
from .manifest import FaceUpload

__all__ = ["Books"]


class Books:
    """The report and the callbacks of one job; ``in_flight`` reads the engine's counter."""

    def __init__(self, options: EnrollOptions, in_flight: Callable[[], int]) -> None:
        self._on_event = options.on_event
        self._on_progress = options.on_progress
        self._in_flight = in_flight
        self.started = 0.0
        self.report = EnrollReport(max_listed=options.max_listed)
        self.track = Tracker(options.shard)
        #: Which results wait for the confirmation phase (``confirm``), if any.
        self.hold: Callable[[ItemResult], bool] | None = None
        self.held = 0

    def finish(self, result: ItemResult) -> ItemResult:
        if self.hold is not None and self.hold(result):
            self.held += 1  # accepted: it ends (and is counted) when confirmed
            self.progress()
            return result
        self.report.add(result)
        self.event("item_done", result.key, outcome=result.outcome, detail=result.error or "")
        self.progress()
        return result

    def progress(self) -> None:
        if self._on_progress is not None:
            elapsed = anyio.current_time() - self.started
            total, phase = self.track.total, self.track.text()
            if self.hold is not None and self.held:
                phase = f"{self.held} accepted to confirm" + (f"; {phase}" if phase else "")
            self._on_progress(self.report.progress(total, self._in_flight(), elapsed, phase))

    def set_phase(self, phase: str) -> None:
        """Say what the job does now (an event and a progress snapshot), if it changed."""
        if phase != self.track.phase:
            self.track.phase = phase
            self.event("phase", None, detail=phase)
            self.progress()

    def retrying(self, why: str, step: int) -> None:
        self.track.retrying[why] += step
        self.event("phase", None, detail=self.track.text())
        self.progress()

    def event(
        self,
        kind: str,
        key: str | None,
        *,
        outcome: Outcome | None = None,
        attempt: int | None = None,
        detail: str = "",
    ) -> None:
        if self._on_event is not None:
            elapsed = anyio.current_time() - self.started
            self._on_event(BulkEvent(kind, key, outcome, attempt, detail, elapsed))

    def abandoned(self, entry: Any) -> None:
        key = entry[1] if isinstance(entry, tuple) else None
        if isinstance(entry, FaceUpload):
            key = fallback_key(entry)
        self.event("abandoned", key, detail="cancelled before it finished")

    def limit_changed(self, before: int, after: int, reason: str) -> None:
        self.event("limit", None, detail=f"concurrency {before} -> {after}: {reason}")
