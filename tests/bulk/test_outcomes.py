"""How each outcome counts, said in one place (``Outcome``) and used by reports and bars."""

from __future__ import annotations

import sunmi_face_async
from sunmi_face_async.bulk import CSV_COLUMNS, EnrollReport, ItemResult, Outcome

DONE = {Outcome.DONE, Outcome.SKIPPED, Outcome.CHECKED}
FAILURE = {
    Outcome.FAILED,
    Outcome.INVALID,
    Outcome.UNKNOWN,
    Outcome.REJECTED,
    Outcome.UNCONFIRMED,
}
# An unconfirmed item is confirmed again by a resumed job; a rejected one is not resent.
RETRYABLE = {Outcome.FAILED, Outcome.UNKNOWN, Outcome.UNCONFIRMED}


def test_which_outcomes_are_done_failed_or_worth_running_again() -> None:
    assert {o for o in Outcome if o.is_done} == DONE
    assert {o for o in Outcome if o.is_failure} == FAILURE
    assert {o for o in Outcome if o.is_retryable} == RETRYABLE
    assert not Outcome.DUPLICATE.is_done
    assert not Outcome.DUPLICATE.is_failure
    assert {o for o in Outcome if ItemResult("k", o).ok} == DONE


def test_the_report_and_its_progress_count_by_the_same_rules() -> None:
    report = EnrollReport()
    for outcome, n in zip(Outcome, range(1, 10), strict=True):
        for _ in range(n):
            report.add(ItemResult(f"{outcome.value}", outcome))
    counts = {o: report.counts[o] for o in Outcome}
    progress = report.progress(total=None, in_flight=0, elapsed=1.0)
    assert progress.done == counts[Outcome.DONE] + counts[Outcome.CHECKED]
    assert progress.skipped == counts[Outcome.SKIPPED] + counts[Outcome.DUPLICATE]
    failed = counts[Outcome.FAILED] + counts[Outcome.INVALID] + counts[Outcome.REJECTED]
    assert progress.failed == failed
    assert progress.unknown == counts[Outcome.UNKNOWN] + counts[Outcome.UNCONFIRMED]
    assert progress.finished == sum(range(1, 10))
    failures = failed + counts[Outcome.UNKNOWN] + counts[Outcome.UNCONFIRMED]
    assert progress.failures == failures
    assert report.failures_count == failures


def test_the_custom_slots_are_one_public_constant() -> None:
    assert sunmi_face_async.CUSTOM_SLOTS == 5
    assert [c for c in CSV_COLUMNS if c.startswith("customer_value")] == [
        "customer_value1",
        "customer_value2",
        "customer_value3",
        "customer_value4",
        "customer_value5",
    ]
