"""Bulk enrollment: ``enroll(client, uploads, ...)`` streams one ``ItemResult`` per upload.

For each upload: read, validate and hash the picture in a worker thread; compute its stable
key (the external key, else group plus picture hash); keep it only if it falls in this
``shard``; ask the journal (claim: skip, duplicate, unknown or send, and mark in flight); send
it; record done or failed. An upload whose outcome is unknown is never blindly sent again:
with ``external_key_slot`` it is reconciled after the main pass (list the group once, match
the slot: found is done, absent is sent again); otherwise it ends UNKNOWN and is listed in
the report.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import Any

from ._job import EnrollJob, EnrollOptions
from ._policy import default_settle
from ._results import BulkEvent, Progress
from .journal import Journal
from .manifest import FaceUpload, ManifestError

__all__ = ["EnrollJob", "EnrollOptions", "enroll"]

Entry = FaceUpload | ManifestError


def enroll(
    client: Any,
    uploads: Iterable[Entry] | AsyncIterable[Entry],
    *,
    concurrency: int = 16,
    rate: float | None = None,
    burst: int | None = None,
    adaptive: bool = True,
    ordered: bool = False,
    journal: str | os.PathLike[str] | Journal | None = None,
    external_key_slot: int | None = None,
    shard: tuple[int, int] | None = None,
    dry_run: bool = False,
    on_event: Callable[[BulkEvent], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    max_attempts: int = 3,
    reconcile_rounds: int = 3,
    retry_delay: float = 0.25,
    settle: float | None = None,
    resume: bool | None = None,
    job: Mapping[str, Any] | None = None,
    job_settings: Mapping[str, Any] | None = None,
    max_listed: int | None = 1000,
) -> EnrollJob:
    """Enroll ``uploads``; iterate the job for results, or ``await job.run()`` for the report.

    ``journal`` (a path or a ``Journal``) makes the job resumable: run it again with the same
    journal and what is done is skipped. ``external_key_slot`` (1 to 5) names the
    ``customer_value`` slot that carries each upload's ``external_key`` on the server, which
    lets uploads with an unknown outcome be reconciled instead of reported. An upload the
    server surely did not apply (throttled, or never sent) is tried up to ``max_attempts``
    times, ``retry_delay`` doubling between tries (a ``Retry-After`` hint wins).

    Uploads an earlier (killed) run left in flight may still land on the server for a while:
    they are reconciled only ``settle`` seconds after they were sent (default: the client's
    ``timeout`` plus 5 s, else 35 s), waiting if the earlier run died less than that ago.

    A journal belongs to one job: the first run records the store, ``external_key_slot``,
    ``shard`` and ``job`` (what else identifies the job, e.g. the source and the target
    group; JSON-able) with ``job_settings`` (kept, not compared); a later run whose values
    differ raises ``JournalMismatchError`` naming each difference. ``resume=True`` refuses
    a missing, empty or damaged journal (``JournalError``) instead of starting afresh; a
    damaged file is refused whatever ``resume`` says, and a failed journal write (full disk,
    read-only folder) ends the job with one ``JournalError`` naming the file and the cause.
    ``max_listed`` bounds the items the report names (None: all).
    """
    if external_key_slot is not None and not 1 <= external_key_slot <= 5:
        raise ValueError("external_key_slot must be 1 to 5")
    if shard is not None:
        k, n = shard
        if n < 1 or not 0 <= k < n:
            raise ValueError("shard must be (k, n) with 0 <= k < n")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    options = EnrollOptions(
        concurrency=concurrency,
        rate=rate,
        burst=burst,
        adaptive=adaptive,
        ordered=ordered,
        journal=journal,
        external_key_slot=external_key_slot,
        shard=shard,
        dry_run=dry_run,
        on_event=on_event,
        on_progress=on_progress,
        max_attempts=max_attempts,
        reconcile_rounds=reconcile_rounds,
        retry_delay=retry_delay,
        settle=default_settle(client) if settle is None else settle,
        resume=resume,
        job=job,
        job_settings=job_settings,
        max_listed=max_listed,
    )
    return EnrollJob(client, uploads, options)
