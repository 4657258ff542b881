"""Plain progress lines: at most one per interval, and always a last one."""

from __future__ import annotations

import io

from rich.console import Console

from sunmi_face_async.bulk import Progress
from sunmi_face_async.cli._progress import ProgressDisplay, format_eta


def snapshot(done: int, failed: int = 0, total: int | None = 100, rate: float = 10.0) -> Progress:
    return Progress(
        done=done,
        failed=failed,
        skipped=0,
        unknown=0,
        total=total,
        in_flight=0,
        elapsed=done / rate if rate else 0.0,
        rate=rate,
    )


def test_plain_lines_are_throttled_and_the_last_one_is_always_shown() -> None:
    buffer = io.StringIO()
    now = [0.0]
    display = ProgressDisplay(
        "enroll", Console(file=buffer, width=200), live=False, interval=2.0, clock=lambda: now[0]
    )
    with display:
        display.update(snapshot(1))  # first: shown
        now[0] = 1.0
        display.update(snapshot(10))  # within the interval: hidden
        now[0] = 2.5
        display.update(snapshot(30, failed=2))  # shown
        now[0] = 3.0
        display.update(snapshot(98, failed=2))  # hidden, then shown at the end
    lines = buffer.getvalue().splitlines()
    assert lines == [
        "enroll: 1/100 (1 done, 0 failed) 10.0/s, elapsed 0.1s, ETA 00:10",
        "enroll: 32/100 (30 done, 2 failed) 10.0/s, elapsed 3.0s, ETA 00:07",
        "enroll: 100/100 (98 done, 2 failed) 10.0/s, elapsed 9.8s, ETA 00:00",
    ]


def test_last_line_is_not_repeated() -> None:
    buffer = io.StringIO()
    with ProgressDisplay("x", Console(file=buffer), live=False, clock=lambda: 0.0) as display:
        display.update(snapshot(5, total=None))
    assert buffer.getvalue().splitlines() == [
        "x: 5/? (5 done, 0 failed) 10.0/s, elapsed 0.5s, ETA --:--"
    ]


def test_live_bar_does_not_print_plain_lines() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    with ProgressDisplay("enroll", console, live=True) as display:
        display.update(snapshot(50))
    assert "enroll:" not in buffer.getvalue()


def test_format_eta() -> None:
    assert format_eta(None) == "--:--"
    assert format_eta(65) == "01:05"
    assert format_eta(3 * 3600 + 62) == "3:01:02"


def _phased(done: int, phase: str) -> Progress:
    import attrs

    return attrs.evolve(snapshot(done), phase=phase)


def test_a_phase_first_seen_is_printed_at_once_and_its_flicker_is_throttled() -> None:
    buffer = io.StringIO()
    now = [0.0]
    display = ProgressDisplay(
        "enroll", Console(file=buffer, width=200), live=False, interval=2.0, clock=lambda: now[0]
    )
    with display:
        display.update(_phased(1, ""))  # first: shown
        now[0] = 0.1
        display.update(_phased(2, "retrying 1 throttled"))  # a new phase: shown at once
        now[0] = 0.2
        display.update(_phased(3, "retrying 2 throttled"))  # its count flickers: hidden
        now[0] = 0.3
        display.update(_phased(4, ""))  # hidden
        display.update(_phased(5, "retrying 1 throttled"))  # seen before, too soon: hidden
        now[0] = 0.4
        display.update(_phased(6, "retrying 1 throttled, retrying 1 refused"))  # new: shown
        display.update(_phased(90, ""))  # hidden, then shown at the end
    phases = [line.partition(" - ")[2] for line in buffer.getvalue().splitlines()]
    assert phases == [
        "",
        "retrying 1 throttled",
        "retrying 1 throttled, retrying 1 refused",
        "",
    ]
