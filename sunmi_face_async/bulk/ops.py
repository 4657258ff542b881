"""Delete or move any number of faces: chunked, chunks in parallel, an outcome per id.

A chunk the API refuses (say one id is not in the group) is split in halves until the
culprits stand alone, so every id gets its own outcome. Delete and move are safe to repeat,
and the transport already retries them; an error that survives is the id's FAILED outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing
from typing import Any

import anyio

from ..errors import APIError, ServerError, ThrottledError
from ._engine import BulkMap
from ._results import ItemResult, Outcome, Progress

__all__ = ["delete_faces", "move_faces"]

_Action = Callable[[Sequence[str]], Awaitable[None]]


async def delete_faces(
    client: Any,
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
    client: Any,
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


async def _settle(action: _Action, chunk: list[str]) -> list[ItemResult]:
    try:
        await action(chunk)
    except Exception as exc:
        if len(chunk) > 1 and _splittable(exc):
            middle = len(chunk) // 2
            return await _settle(action, chunk[:middle]) + await _settle(action, chunk[middle:])
        return [ItemResult(i, Outcome.FAILED, face_id=i, error=str(exc)) for i in chunk]
    return [ItemResult(i, Outcome.DONE, face_id=i) for i in chunk]


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

    async def run(chunk: list[str]) -> list[ItemResult]:
        return await _settle(action, chunk)

    engine = BulkMap(
        _chunks(face_ids, chunk_size), run, concurrency=concurrency, adaptive=False, ordered=True
    )
    async with aclosing(engine.__aiter__()) as chunks:
        async for settled in chunks:
            results.extend(settled)
            failed += sum(1 for r in settled if r.outcome is Outcome.FAILED)
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
