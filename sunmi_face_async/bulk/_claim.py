"""One upload's way to the wire: read and check it, key it, keep it if it is this shard's,
and claim it in the journal (skip, duplicate, unknown, or send). Claims of concurrent
workers are committed in batches (``_claim_batch``).

Each check runs before the journal claims the item, so a dry run and a real run refuse the
same items, and nothing the journal holds was refused before it was sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ValidationError
from ._claim_batch import batcher_for
from ._naming import duplicate_reason
from ._pictures import load_picture
from ._policy import about, check_upload, customer_values, fallback_key, in_shard
from ._results import ItemResult, Outcome
from ._send import Step, send, unknown
from .journal import Claim, Status
from .manifest import FaceUpload, ManifestError

if TYPE_CHECKING:
    from ._job import EnrollJob

__all__ = ["process"]


async def process(job: EnrollJob, entry: FaceUpload | ManifestError) -> Step | None:
    """The main pass's work on one entry: a result, a deferred upload, or None (not ours)."""
    if isinstance(entry, ManifestError):
        return Step(
            ItemResult(
                f"line:{entry.line}", Outcome.INVALID, None, entry.message, entry.line, entry
            )
        )
    upload = entry
    options, track = job.options, job.books.track
    fallback = fallback_key(upload)
    if upload.external_key and not in_shard(job.stores.key(upload, ""), options.shard):
        track.seen(keyed=True, taken=False)
        return None
    try:
        values = customer_values(upload, options.external_key_slot)
        data, digest = await load_picture(upload.pic)
    except ValidationError as exc:
        track.seen(keyed=bool(upload.external_key), taken=True)
        return Step(ItemResult(fallback, Outcome.INVALID, None, str(exc), upload.line, upload))
    key = job.stores.key(upload, digest)
    taken = in_shard(key, options.shard)
    track.seen(keyed=bool(upload.external_key), taken=taken)
    if not taken:
        return None
    try:
        await check_upload(job.client, upload, data, values)
    except ValidationError as exc:
        return Step(ItemResult(key, Outcome.INVALID, None, str(exc), upload.line, upload))
    journal = job.journal
    batcher = batcher_for(job)
    decision, detail = await batcher.claim(
        key, upload.group_id, digest, upload.line, about(upload, values)
    )
    if decision is Claim.SKIP:
        return Step(ItemResult(key, Outcome.SKIPPED, detail, None, upload.line, upload))
    if decision is Claim.REJECTED:
        why = "rejected by the platform in an earlier run (resend_rejected sends it again)"
        return Step(ItemResult(key, Outcome.REJECTED, detail, why, upload.line, upload))
    if decision is Claim.DUPLICATE:
        why = await duplicate_reason(journal, upload, key, detail)
        return Step(ItemResult(key, Outcome.DUPLICATE, None, why, upload.line, upload))
    if decision is Claim.UNKNOWN:
        state = await journal.state(key)
        if state is not None and state[0] is Status.IN_FLIGHT:
            job.not_before[key] = state[1] + job.settle
        return unknown(job, upload, key, "an earlier run left its outcome unknown")
    if options.dry_run:
        batcher.taken()
        return Step(ItemResult(key, Outcome.CHECKED, None, None, upload.line, upload))
    return await send(job, upload, key, data, values, on_slot=batcher.taken)
