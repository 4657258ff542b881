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

import attrs

from ._client import BulkClient
from ._job import EnrollJob
from ._options import EnrollOptions
from ._results import BulkEvent, Progress
from .journal import Journal
from .manifest import FaceUpload, ManifestError

__all__ = ["EnrollJob", "EnrollOptions", "enroll"]

Entry = FaceUpload | ManifestError


def enroll(
    client: BulkClient,
    uploads: Iterable[Entry] | AsyncIterable[Entry],
    options: EnrollOptions | None = None,
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
    per_store_concurrency: int | None = None,
    confirm: str | None = None,
    confirm_wait: float = 30.0,
    resend_rejected: bool = False,
) -> EnrollJob:
    """Enroll ``uploads``; iterate the job for results, or ``await job.run()`` for the report.

    The options come as keywords (typed here, so a checker sees them) or as one
    ``EnrollOptions`` (``options=``; then no keyword may be given): either way they become
    one ``EnrollOptions``, validated once (``ValueError`` naming the option).

    ``journal`` (a path or a ``Journal``) makes the job resumable: run it again with the same
    journal and what is done is skipped. ``external_key_slot`` (1 to ``CUSTOM_SLOTS``) names
    the ``customer_value`` slot that carries each upload's ``external_key`` on the server,
    which lets uploads with an unknown outcome be reconciled instead of reported. An upload
    the server surely did not apply (throttled, or never sent) is tried up to
    ``max_attempts`` times, ``retry_delay`` doubling between tries (a ``Retry-After`` hint
    wins).

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

    A face_id in the answer means the platform *accepted* the picture; it makes the face
    afterwards and may still refuse it. ``confirm="listing"`` waits until ``confirm_wait``
    seconds have passed since the last accepted upload, lists each target group once and
    ends the accepted items found there DONE (SKIPPED if done by an earlier run), the others
    REJECTED. ``confirm="push"`` takes the outcome of each accepted item from push callbacks
    recorded in the journal (``record_confirmation``) and waits up to ``confirm_wait``
    seconds for them; items without one end UNCONFIRMED. Accepted items are held back until
    confirmed, so each item still yields one result. A REJECTED item is sent again by a
    later run only with ``resend_rejected=True``.

    Uploads may name their store (``FaceUpload.sunmi_shop_no``) and their group by name
    (``group``, looked up once per store): one job then covers many stores through the
    client's ``with_shop`` clients. ``concurrency`` bounds the whole job and
    ``per_store_concurrency`` each store, whose items then take turns so a slow or failing
    store cannot hold every worker; ``report.by_store`` counts the outcomes per store.
    """
    # The keywords above are exactly the fields of EnrollOptions (a test holds them equal).
    keywords = {name: value for name, value in locals().items() if name in _DEFAULTS}
    if options is None:
        options = EnrollOptions(**keywords)
    elif keywords != _DEFAULTS:
        changed = sorted(name for name, value in keywords.items() if _DEFAULTS[name] != value)
        raise TypeError(f"enroll: pass options= or keywords, not both (got {', '.join(changed)})")
    return EnrollJob(client, uploads, options)


_DEFAULTS = {name: field.default for name, field in attrs.fields_dict(EnrollOptions).items()}
