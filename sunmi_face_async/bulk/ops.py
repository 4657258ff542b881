"""Delete or move any number of faces: chunked, chunks in parallel, an outcome per id.

A chunk the API refuses (say one id is not in the group) is split in halves until the
culprits stand alone, so every id gets its own outcome. Delete and move are safe to repeat,
and the transport already retries them; an error that survives is the id's FAILED outcome.

Some refusals are final for every id still to come: a full target group (5520) once even a
single id does not fit, wrong credentials, a store or group that does not exist. Then the
ids not yet sent fail at once with that same error instead of being sent (and bisected)
one after another. While a 5520 says the target is nearly full, chunks are sent one at a
time and never larger than the room the refusals leave, so finding the room costs about
log2(chunk size) requests, not one per id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

import anyio
import attrs

from ..errors import (
    APIError,
    AuthenticationError,
    GroupNotFoundError,
    LimitExceededError,
    ServerError,
    ShopNotFoundError,
    ThrottledError,
)
from ._client import BulkClient
from ._engine import BulkMap
from ._results import ItemResult, Outcome, Progress

__all__ = ["delete_faces", "move_faces"]

_Action = Callable[[Sequence[str]], Awaitable[None]]


async def delete_faces(
    client: BulkClient,
    group_id: str,
    face_ids: Iterable[str],
    *,
    chunk_size: int = 100,
    concurrency: int = 8,
    on_progress: Callable[[Progress], None] | None = None,
) -> list[ItemResult]:
    """Delete ``face_ids`` from ``group_id``; one ``ItemResult`` per id, in input order."""

    async def action(chunk: Sequence[str]) -> None:
        await client.faces.delete(group_id, chunk)

    return await _chunked(action, face_ids, chunk_size, concurrency, on_progress)


async def move_faces(
    client: BulkClient,
    source_group_id: str,
    target_group_id: str,
    face_ids: Iterable[str],
    *,
    chunk_size: int = 100,
    concurrency: int = 8,
    on_progress: Callable[[Progress], None] | None = None,
) -> list[ItemResult]:
    """Move ``face_ids`` between groups; one ``ItemResult`` per id, in input order."""

    async def action(chunk: Sequence[str]) -> None:
        await client.groups.move_faces(source_group_id, target_group_id, chunk)

    return await _chunked(action, face_ids, chunk_size, concurrency, on_progress)


def _chunks(ids: Iterable[str], size: int) -> Iterable[list[str]]:
    chunk: list[str] = []
    for face_id in ids:
        chunk.append(face_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _splittable(exc: Exception) -> bool:
    # The API refused the content of the chunk (not the server's health): find out which ids.
    return isinstance(exc, APIError) and not isinstance(exc, ServerError | ThrottledError)


def _final(exc: Exception) -> bool:
    # No id of this operation can succeed after this answer.
    return isinstance(exc, AuthenticationError | ShopNotFoundError | GroupNotFoundError)


@attrs.define
class _Room:
    """What the refusals so far say about the target: shared by every chunk of one call."""

    #: At most this many more ids fit (None: no 5520 seen yet, send freely).
    left: int | None = None
    #: The final refusal: every id not yet sent fails with it.
    stopped: Exception | None = None
    lock: anyio.Lock = attrs.field(factory=anyio.Lock)


_RESPLIT = object()  # the room shrank while this chunk waited: split it before sending


def _failed(chunk: Sequence[str], exc: Exception) -> list[ItemResult]:
    return [ItemResult(i, Outcome.FAILED, face_id=i, error=str(exc)) for i in chunk]


async def _attempt(action: _Action, chunk: list[str], room: _Room) -> object:
    """One request: None when applied, else the error (or ``_RESPLIT``)."""
    if room.left is None:
        try:
            await action(chunk)
        except Exception as exc:
            return exc
        return None
    async with room.lock:  # the target is nearly full: probe one chunk at a time
        if room.stopped is not None:
            return room.stopped
        if len(chunk) > max(room.left, 1):
            return _RESPLIT
        try:
            await action(chunk)
        except Exception as exc:
            return exc
        room.left = max(room.left - len(chunk), 0)
        return None


async def _bisect(action: _Action, chunk: list[str], room: _Room) -> list[ItemResult]:
    """Every id of ``chunk`` with its outcome: sent whole, or split in halves on a refusal."""
    if room.stopped is not None:
        return _failed(chunk, room.stopped)
    if room.left is not None and len(chunk) > max(room.left, 1):
        return await _halves(action, chunk, room)
    outcome = await _attempt(action, chunk, room)
    if outcome is None:
        return [ItemResult(i, Outcome.DONE, face_id=i) for i in chunk]
    if outcome is _RESPLIT:
        return await _halves(action, chunk, room)
    assert isinstance(outcome, Exception)
    if isinstance(outcome, LimitExceededError):
        if len(chunk) == 1:
            room.stopped = outcome  # not even one more fits
            return _failed(chunk, outcome)
        fits = len(chunk) - 1
        room.left = fits if room.left is None else min(room.left, fits)
        return await _halves(action, chunk, room)
    if _final(outcome):
        room.stopped = outcome
        return _failed(chunk, outcome)
    if len(chunk) > 1 and _splittable(outcome):
        return await _halves(action, chunk, room)
    return _failed(chunk, outcome)


async def _halves(action: _Action, chunk: list[str], room: _Room) -> list[ItemResult]:
    middle = len(chunk) // 2
    first = await _bisect(action, chunk[:middle], room)
    return first + await _bisect(action, chunk[middle:], room)


async def _chunked(
    action: _Action,
    face_ids: Iterable[str],
    chunk_size: int,
    concurrency: int,
    on_progress: Callable[[Progress], None] | None,
) -> list[ItemResult]:
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if isinstance(face_ids, str):
        raise TypeError("face_ids must be a collection of ids, not one string")
    total = len(face_ids) if isinstance(face_ids, Sequence) else None
    started = anyio.current_time()
    results: list[ItemResult] = []
    failed = 0
    room = _Room()

    async def run(chunk: list[str]) -> list[ItemResult]:
        return await _bisect(action, chunk, room)

    engine = BulkMap(
        _chunks(face_ids, chunk_size), run, concurrency=concurrency, adaptive=False, ordered=True
    )
    async with engine as chunks:
        async for outcomes in chunks:
            results.extend(outcomes)
            failed += sum(1 for r in outcomes if r.outcome.is_failure)
            if on_progress is not None:
                elapsed = anyio.current_time() - started
                on_progress(
                    Progress(
                        done=len(results) - failed,
                        failed=failed,
                        skipped=0,
                        unknown=0,
                        total=total,
                        in_flight=engine.stats.in_flight,
                        elapsed=elapsed,
                        rate=len(results) / elapsed if elapsed > 0 else 0.0,
                    )
                )
    return results
