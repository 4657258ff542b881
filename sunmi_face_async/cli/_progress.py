"""Progress of a bulk command: a live rich bar for a person, plain lines for a log.

Both show items done, failed, the rate, the time left and the phase (what the job does
besides its items: reconciling, waiting for uploads to settle, retrying). The plain form
prints at most one line every ``interval`` seconds (and one when the phase changes), and
always a last line when the work ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

__all__ = ["ProgressDisplay", "ProgressLike", "format_eta"]

_DIGITS = re.compile(r"\d+")


class ProgressLike(Protocol):
    """What the display needs from the bulk layer's ``Progress``."""

    @property
    def done(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def finished(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def total(self) -> int | None: ...
    @property
    def elapsed(self) -> float: ...
    @property
    def rate(self) -> float: ...


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _counts(p: ProgressLike) -> tuple[int, int]:
    """Items finished (whatever the outcome), and items that failed or are in doubt."""
    return p.finished, p.failures


def _phase(p: ProgressLike) -> str:
    """What the job does besides its items (e.g. ``reconciling 32``), if the snapshot says."""
    phase = getattr(p, "phase", "")
    return phase if isinstance(phase, str) else ""


def _rate(p: ProgressLike) -> float:
    """Items worked on per second: those skipped (done by an earlier run, or repeats) take no
    time and are left out, so a resume shows the speed it sends at."""
    skipped = int(getattr(p, "skipped", 0) or 0)
    if not skipped or p.elapsed <= 0:
        return p.rate
    return max(0, p.finished - skipped) / p.elapsed


def _eta(p: ProgressLike, finished: int) -> float | None:
    rate = _rate(p)
    if p.total is None or rate <= 0:
        return None
    return max(0, p.total - finished) / rate


class ProgressDisplay:
    """Feed it the bulk layer's progress snapshots through :meth:`update`."""

    def __init__(
        self,
        label: str,
        console: Console,
        *,
        live: bool,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.console = console
        self.live = live
        self.interval = interval
        self._clock = clock
        self._last_line: float | None = None
        self._latest: ProgressLike | None = None
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._shown = True
        self._last_phase = ""
        self._kinds_shown: set[str] = set()

    def __enter__(self) -> ProgressDisplay:
        if self.live:
            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:.0f}/{task.fields[total_text]}"),
                TextColumn("[green]{task.fields[done]} done"),
                TextColumn("[red]{task.fields[failed]} failed"),
                TextColumn("{task.fields[rate]:.1f}/s"),
                TextColumn("ETA {task.fields[eta]}"),
                TimeElapsedColumn(),
                TextColumn("[yellow]{task.fields[phase]}"),
                console=self.console,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                self.label,
                total=None,
                total_text="?",
                done=0,
                failed=0,
                rate=0.0,
                eta="--:--",
                phase="",
            )
        return self

    def update(self, progress: ProgressLike) -> None:
        self._latest = progress
        if self._bar is not None and self._task is not None:
            finished, failed = _counts(progress)
            self._bar.update(
                self._task,
                completed=finished,
                total=progress.total,
                total_text="?" if progress.total is None else str(progress.total),
                done=progress.done,
                failed=failed,
                rate=_rate(progress),
                eta=format_eta(_eta(progress, finished)),
                phase=_phase(progress),
            )
            return
        now = self._clock()
        self._shown = False
        phase = _phase(progress)
        # A kind of phase never shown before ("retrying N throttled") is shown at once, even in
        # a job that ends within the half second; a flickering one (retry counts, a phase
        # coming and going) at most twice a second.
        since = None if self._last_line is None else now - self._last_line
        kind = _DIGITS.sub("N", phase)
        first_seen = bool(kind) and kind not in self._kinds_shown
        changed = phase != self._last_phase and (since is None or since >= 0.5)
        if first_seen or changed or since is None or since >= self.interval:
            self._kinds_shown.add(kind)
            self._last_phase = phase
            self._last_line = now
            self._print(progress)

    def _print(self, progress: ProgressLike) -> None:
        self._shown = True
        self.console.print(self.line(progress), highlight=False, soft_wrap=True, markup=False)

    def line(self, progress: ProgressLike) -> str:
        """The plain form of one snapshot."""
        finished, failed = _counts(progress)
        total = "?" if progress.total is None else str(progress.total)
        eta = format_eta(_eta(progress, finished))
        skipped = int(getattr(progress, "skipped", 0) or 0)
        also = f", {skipped} skipped" if skipped else ""
        phase = _phase(progress)
        return (
            f"{self.label}: {finished}/{total} ({progress.done} done{also}, {failed} failed) "
            f"{_rate(progress):.1f}/s, elapsed {progress.elapsed:.1f}s, ETA {eta}"
            + (f" - {phase}" if phase else "")
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self._latest is not None and not self._shown:
            self._print(self._latest)
