"""Fault soak (issue 7, part 1): thousands of enrollments against a misbehaving fake cloud.

The fake answers ``/face/add`` with 5 % HTTP 5xx, 2 % dropped connections (nothing applied),
1 % commit-then-timeout (applied, answer lost), 1 % 5091/5092 and 0 to 3 ms of random
latency. Faults are limited to ``/face/add``, the only call whose repetition could duplicate
a face; the reads that reconciliation makes are left healthy so that one run is decided by
its seed, not by how often a listing page meets two auth faults in a row.

What is asserted, with an external key (reconciliation on):
- every item ends in exactly one result, and the report counts them all;
- the server holds each DONE item once, with the result's face_id, name and picture;
- no external key is on the server twice (0 duplicates), nothing else is there, and nothing
  DONE is missing (0 lost); only a double auth fault may fail an item;
- an upload that was not applied (5xx, drop) is sent exactly once more, one that was applied
  (commit-then-timeout) never again: the server received exactly
  ``items + auth faults - failed + 5xx + drops`` uploads;
- the journal agrees with the results (status and face_id per key).

Without an external key (no reconciliation possible):
- every item ends in exactly one result; each 5xx, drop or commit-then-timeout on an upload
  ends its item UNKNOWN, and UNKNOWN items are never sent again, so the server received
  exactly ``items + auth faults - failed`` uploads;
- the server holds the DONE items, plus exactly one face for each commit-then-timeout (the
  UNKNOWN items that did commit), and no item twice.

Small (1,000 items) by default; 10,000 with ``--full``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import anyio
import pytest

from sunmi_face_async import RetryPolicy
from sunmi_face_async.bulk import FaceUpload, ItemResult, Journal, Outcome, Status, enroll
from sunmi_face_async.testing import FakeSunmiCloud
from sunmi_face_async.testing.pictures import tiny_png

pytestmark = pytest.mark.slow

SMALL_ITEMS = 1_000
FULL_ITEMS = 10_000
SLOT = 2  # the customer_value slot that carries the external key
SERVER_ERRORS = {500: 0.02, 502: 0.015, 503: 0.015}  # 5 % HTTP 5xx
AUTH_ERRORS = {5091: 0.005, 5092: 0.005}  # 1 % timestamp / nonce refusals
SOAK_FAULTS = {
    "error_rates": {**SERVER_ERRORS, **AUTH_ERRORS},
    "drop_rate": 0.02,
    "commit_then_timeout_rate": 0.01,
    "jitter": 0.003,  # random latency, 0 to 3 ms
    "endpoints": ["/face/add"],
}
SERVER_LABELS = {f"http_{code}" for code in SERVER_ERRORS}
AUTH_LABELS = {f"code_{code}" for code in AUTH_ERRORS}
ALL_LABELS = SERVER_LABELS | AUTH_LABELS | {"drop", "commit_then_timeout"}


async def _tiny_sleep(seconds: float) -> None:
    await anyio.sleep(0)


def _retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, sleep=_tiny_sleep)


def _key(index: int) -> str:
    return f"soak-{index:05d}"


def _uploads(group_id: str, count: int, *, keyed: bool) -> list[FaceUpload]:
    return [
        FaceUpload(
            group_id=group_id,
            pic=tiny_png(i),
            name=_key(i),
            customer_values=("soak",),
            external_key=_key(i) if keyed else None,
        )
        for i in range(count)
    ]


def _digest(index: int) -> str:
    return hashlib.sha256(tiny_png(index)).hexdigest()


def _index_of(name: str) -> int:
    assert name.startswith("soak-"), name
    return int(name.removeprefix("soak-"))


async def _enroll_all(
    cloud: FakeSunmiCloud, count: int, *, keyed: bool, journal: Path
) -> tuple[str, list[ItemResult], dict[Outcome, int]]:
    async with cloud.client(timeout=10.0, retry=_retry()) as client:
        group = await client.groups.create("soak", capacity=count)
        cloud.reset_stats()
        cloud.faults.update(SOAK_FAULTS)
        job = enroll(
            client,
            _uploads(group.group_id, count, keyed=keyed),
            concurrency=16,
            journal=journal,
            external_key_slot=SLOT if keyed else None,
        )
        async with job:
            results = [result async for result in job]
        assert not job.report.cancelled
        return group.group_id, results, dict(job.report.counts)


def _check_one_result_each(
    results: list[ItemResult], counts: dict[Outcome, int], expected_keys: set[str]
) -> Counter[Outcome]:
    keys = Counter(r.key for r in results)
    assert len(results) == len(expected_keys)
    assert set(keys) == expected_keys
    assert max(keys.values()) == 1, "an item produced two results"
    outcomes = Counter(r.outcome for r in results)
    assert counts == {o: outcomes.get(o, 0) for o in Outcome}
    assert sum(counts.values()) == len(expected_keys)
    return outcomes


def _print_figures(title: str, count: int, faults: Counter[str], **figures: object) -> None:
    shown = ", ".join(f"{label}={faults[label]}" for label in sorted(faults))
    rest = " ".join(f"{name}={value}" for name, value in figures.items())
    print(f"\n{title}: items={count} faults_injected={sum(faults.values())} ({shown}) {rest}")


@pytest.mark.parametrize("seed", [11, 12])
async def test_soak_with_external_key_loses_and_duplicates_nothing(
    full_size: bool, seed: int, tmp_path: Path
) -> None:
    count = FULL_ITEMS if full_size else SMALL_ITEMS
    cloud = FakeSunmiCloud(seed=seed)
    journal_path = tmp_path / "soak.db"
    group_id, results, counts = await _enroll_all(cloud, count, keyed=True, journal=journal_path)
    outcomes = _check_one_result_each(results, counts, {_key(i) for i in range(count)})
    faults = Counter(cloud.stats.faults_injected)
    assert set(faults) == ALL_LABELS, "every kind of fault was injected"

    by_key = {r.key: r for r in results}
    assert set(by_key) == {_key(i) for i in range(count)}
    server_keys = Counter(f.customer_value(SLOT) for f in cloud.faces_in(group_id))
    duplicates = sum(n - 1 for n in server_keys.values())
    assert duplicates == 0
    server = {f.customer_value(SLOT): f for f in cloud.faces_in(group_id)}
    done = {k for k, r in by_key.items() if r.outcome is Outcome.DONE}
    lost = done - set(server)
    assert not lost
    assert set(server) == done, "only DONE items are on the server"
    for key in done:
        face = server[key]
        assert face.face_id == by_key[key].face_id
        assert face.name == key
        assert face.customer_values[:SLOT] == ("soak", key)
        assert cloud.picture_digest(face.face_id)[0] == _digest(_index_of(key))

    # Reconciliation resolves every unknown outcome; only two auth refusals in a row (the
    # client re-signs once) can fail an upload, and that is reported, not lost.
    assert outcomes[Outcome.UNKNOWN] == 0
    assert set(outcomes) <= {Outcome.DONE, Outcome.FAILED}
    for result in results:
        if result.outcome is Outcome.FAILED:
            assert result.error is not None
            assert "5091" in result.error or "5092" in result.error, result.error
    auth_faults = sum(faults[label] for label in AUTH_LABELS)
    assert outcomes[Outcome.FAILED] <= auth_faults // 2
    # An upload that was not applied (5xx, drop) is found absent and sent once more; one that
    # was (commit-then-timeout) is found and never sent again.
    not_applied = sum(faults[label] for label in SERVER_LABELS) + faults["drop"]
    sent = cloud.stats.requests_by_endpoint["/face/add"]
    assert sent == count + auth_faults - outcomes[Outcome.FAILED] + not_applied

    with Journal(journal_path) as journal:
        rows = {row.key: row for row in journal.rows()}
    assert set(rows) == set(by_key)
    for key, row in rows.items():
        expected = Status.DONE if by_key[key].outcome is Outcome.DONE else Status.FAILED
        assert row.status is expected
        if expected is Status.DONE:
            assert row.face_id == by_key[key].face_id

    _print_figures(
        f"soak seed={seed} external key",
        count,
        faults,
        done=outcomes[Outcome.DONE],
        failed=outcomes[Outcome.FAILED],
        unknown=outcomes[Outcome.UNKNOWN],
        uploads_sent=sent,
        lost=len(lost),
        duplicates=duplicates,
    )


async def test_soak_without_external_key_reports_unknowns_and_never_resends(
    full_size: bool, tmp_path: Path
) -> None:
    count = FULL_ITEMS if full_size else SMALL_ITEMS
    cloud = FakeSunmiCloud(seed=21)
    group_id, results, counts = await _enroll_all(
        cloud, count, keyed=False, journal=tmp_path / "soak.db"
    )
    # Without an external key an item's key is its group and its picture's sha256.
    name_of = {f"{group_id}:{_digest(i)}": _key(i) for i in range(count)}
    outcomes = _check_one_result_each(results, counts, set(name_of))
    faults = Counter(cloud.stats.faults_injected)
    assert set(faults) == ALL_LABELS, "every kind of fault was injected"
    assert set(outcomes) <= {Outcome.DONE, Outcome.FAILED, Outcome.UNKNOWN}

    # Each 5xx, drop or commit-then-timeout ends exactly one item UNKNOWN: never re-sent.
    ambiguous = sum(faults[label] for label in SERVER_LABELS) + faults["drop"]
    ambiguous += faults["commit_then_timeout"]
    assert outcomes[Outcome.UNKNOWN] == ambiguous
    auth_faults = sum(faults[label] for label in AUTH_LABELS)
    sent = cloud.stats.requests_by_endpoint["/face/add"]
    assert sent == count + auth_faults - outcomes[Outcome.FAILED]

    by_name = {name_of[r.key]: r for r in results}
    server_names = Counter(f.name for f in cloud.faces_in(group_id))
    duplicates = sum(n - 1 for n in server_names.values())
    assert duplicates == 0
    server = {f.name: f for f in cloud.faces_in(group_id)}
    done = {n for n, r in by_name.items() if r.outcome is Outcome.DONE}
    unknown = {n for n, r in by_name.items() if r.outcome is Outcome.UNKNOWN}
    lost = done - set(server)
    assert not lost
    for name in done:
        assert server[name].face_id == by_name[name].face_id
        assert cloud.picture_digest(server[name].face_id)[0] == _digest(_index_of(name))
    committed_unknowns = set(server) - done
    assert committed_unknowns <= unknown
    assert len(committed_unknowns) == faults["commit_then_timeout"]

    _print_figures(
        "soak seed=21 no external key",
        count,
        faults,
        done=outcomes[Outcome.DONE],
        failed=outcomes[Outcome.FAILED],
        unknown=outcomes[Outcome.UNKNOWN],
        unknown_committed=len(committed_unknowns),
        uploads_sent=sent,
        lost=len(lost),
        duplicates=duplicates,
    )
