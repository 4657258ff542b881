"""The streaming bounded map under every bulk operation.

``BulkMap(items, fn, ...)`` runs ``fn`` over any iterable or async iterable with a fixed pool
of ``concurrency`` workers, an optional requests-per-second cap and an optional adaptive limit
below the cap, and streams the results out as they finish (or in input order). Memory stays
flat: items are pulled one at a time and at most a window of them is ever held. It knows
nothing of SUNMI: ``fn`` turns an item into a result and ``signal`` says what a result tells
about the server's health.

By default each whole call of ``fn`` holds a slot. With ``slot_per_call=False`` the engine runs
a few more workers than the cap and ``fn`` holds a slot only around its request (``async
with engine.slot() as slot``), so reading a picture or writing the journal overlaps with other
requests instead of eating into the cap.

It is an async context manager, as ``aiometer.amap`` is: ``async with BulkMap(...) as
results: async for r in results: ...``. Use it inside the task that owns it. Leaving the
block early (``break``, an exception, cancellation) cancels the workers at once.
"""

from __future__ import annotations

import collections
import itertools
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Iterable,
    Iterator,
)
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import anyio
import anyio.abc
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from ._adaptive import AdaptiveLimit, Signal
from ._ratelimit import RateLimiter

__all__ = ["BulkMap", "EngineStats", "Slot"]

T = TypeVar("T")
R = TypeVar("R")


class EngineStats:
    """Live counters a progress display reads."""

    __slots__ = ("completed", "in_flight", "limit", "started")

    def __init__(self, limit: int) -> None:
        self.in_flight = 0
        self.started = 0
        self.completed = 0
        self.limit = limit


class Slot:
    """Held while one request is in flight; set ``signal`` to say how it went."""

    __slots__ = ("signal",)

    def __init__(self) -> None:
        self.signal = Signal.OK


class _ElasticSemaphore:
    """A semaphore whose size follows a changing limit (the adaptive one)."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._in_use = 0
        self._waiters: collections.deque[anyio.Event] = collections.deque()

    async def acquire(self) -> None:
        while self._in_use >= self._limit():
            event = anyio.Event()
            self._waiters.append(event)
            try:
                await event.wait()
            finally:
                if event in self._waiters:
                    self._waiters.remove(event)
        self._in_use += 1

    def release(self) -> None:
        self._in_use -= 1
        free = self._limit() - self._in_use
        while free > 0 and self._waiters:
            self._waiters.popleft().set()
            free -= 1


def _take(iterator: Iterator[T], count: int) -> list[T]:
    return list(itertools.islice(iterator, count))


async def _aiter_items(
    items: Iterable[T] | AsyncIterable[T], batch: int
) -> AsyncGenerator[T, None]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    elif isinstance(items, Collection):
        for item in items:  # already in memory: nothing blocks
            yield item
    else:
        # A lazy iterator may read files (a manifest): advance it in a worker thread, a small
        # batch at a time, so it never blocks the event loop.
        iterator = iter(items)
        while chunk := await anyio.to_thread.run_sync(_take, iterator, batch):
            for item in chunk:
                yield item


class BulkMap(Generic[T, R]):
    """Map ``fn`` over ``items`` concurrently and stream the results.

    ``async with BulkMap(items, fn) as results`` starts the workers and gives the stream
    of results; leaving the block stops them.

    ``fn`` must not raise for an ordinary bad item: it returns a result saying so. If it
    returns None the item produces no result (a filter). ``on_abandoned`` is called for each
    item whose call was cancelled part way (its outcome is unknown).
    """

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], Awaitable[R | None]],
        *,
        concurrency: int = 16,
        rate: float | None = None,
        burst: int | None = None,
        adaptive: bool | AdaptiveLimit = True,
        ordered: bool = False,
        signal: Callable[[R], Signal] | None = None,
        on_abandoned: Callable[[T], None] | None = None,
        on_limit_change: Callable[[int, int, str], None] | None = None,
        limiter: RateLimiter | None = None,
        slot_per_call: bool = True,
        workers: int | None = None,
        clock: Callable[[], float] = anyio.current_time,
        gate_calls: bool | None = None,
    ) -> None:
        if gate_calls is not None:
            warnings.warn(
                "BulkMap(gate_calls=...) is deprecated; use slot_per_call=...",
                DeprecationWarning,
                stacklevel=2,
            )
            slot_per_call = gate_calls
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if workers is None:
            # Spare workers keep every slot busy while some calls read, record or wait to
            # try again (a Retry-After hint holds a worker, never a slot).
            workers = concurrency if slot_per_call else concurrency + max(16, concurrency // 2)
        self._workers = max(workers, 1)
        self._batch = min(32, self._workers)
        self._slot_per_call = slot_per_call
        self._items = items
        self._fn = fn
        self._concurrency = concurrency
        self._ordered = ordered
        self._signal = signal
        self._on_abandoned = on_abandoned
        self._clock = clock
        if limiter is None and rate is not None:
            limiter = RateLimiter(rate, burst if burst is not None else concurrency, clock=clock)
        self.limiter = limiter
        if isinstance(adaptive, AdaptiveLimit):
            self.adaptive: AdaptiveLimit | None = adaptive
        elif adaptive:
            self.adaptive = AdaptiveLimit(concurrency, clock=clock, on_change=on_limit_change)
        else:
            self.adaptive = None
        self.stats = EngineStats(concurrency)
        # Without an adaptive limit the worker count is the cap, unless calls take their own slots.
        needs_limit = self.adaptive is not None or self._workers > concurrency
        self._in_flight_limit = _ElasticSemaphore(self._current_limit) if needs_limit else None
        self._stream: AsyncGenerator[R, None] | None = None
        self._tasks: anyio.abc.TaskGroup | None = None

    def soon(self, fn: Callable[[], Coroutine[Any, Any, object]]) -> None:
        """Run ``fn`` beside the workers (e.g. a timer that commits the journal); it is
        cancelled with them. Call it from a worker, while the engine runs."""
        assert self._tasks is not None, "the engine is not running"
        self._tasks.start_soon(fn)

    def _current_limit(self) -> int:
        limit = self.adaptive.limit if self.adaptive is not None else self._concurrency
        self.stats.limit = limit
        return limit

    async def __aenter__(self) -> AsyncGenerator[R, None]:
        if self._stream is not None:
            raise RuntimeError("a BulkMap can be entered only once")
        self._stream = self._run()
        return self._stream

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._stream is not None
        await self._stream.aclose()

    def __aiter__(self) -> AsyncGenerator[R, None]:
        """Deprecated: iterate ``async with BulkMap(...) as results`` instead."""
        warnings.warn(
            "iterating a BulkMap directly is deprecated; use "
            "'async with BulkMap(...) as results: async for result in results'",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._run()

    async def _produce(
        self, send: ObjectSendStream[tuple[int, T]], window: anyio.Semaphore | None
    ) -> None:
        async with send:
            seq = 0
            async for item in _aiter_items(self._items, self._batch):
                if window is not None:
                    await window.acquire()
                await send.send((seq, item))
                seq += 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Hold one of the ``concurrency`` slots (and one rate-limit token) for a request."""
        stats = self.stats
        if self._in_flight_limit is not None:
            await self._in_flight_limit.acquire()
        try:
            if self.limiter is not None:
                await self.limiter.acquire()
            held = Slot()
            started = self._clock()
            stats.in_flight += 1
            stats.started += 1
            try:
                yield held
            finally:
                stats.in_flight -= 1
            if self.adaptive is not None:
                self.adaptive.record(held.signal, self._clock() - started)
        finally:
            if self._in_flight_limit is not None:
                self._in_flight_limit.release()

    async def _call(self, item: T) -> R | None:
        try:
            if not self._slot_per_call:
                return await self._fn(item)
            async with self.slot() as held:
                result = await self._fn(item)
                if self._signal is not None and result is not None:
                    held.signal = self._signal(result)
                return result
        except anyio.get_cancelled_exc_class():
            if self._on_abandoned is not None:
                self._on_abandoned(item)
            raise

    async def _work(
        self,
        receive: ObjectReceiveStream[tuple[int, T]],
        send: ObjectSendStream[tuple[int, R | None]],
    ) -> None:
        async with receive, send:
            async for seq, item in receive:
                result = await self._call(item)
                self.stats.completed += 1
                await send.send((seq, result))

    async def _run(self) -> AsyncGenerator[R, None]:
        item_send, item_receive = anyio.create_memory_object_stream[tuple[int, T]](0)
        result_send, result_receive = anyio.create_memory_object_stream[tuple[int, R | None]](
            self._workers
        )
        # Ordered output holds finished results until the ones before them are out; the
        # window bounds how far ahead the workers may run.
        window = anyio.Semaphore(4 * self._workers) if self._ordered else None
        async with anyio.create_task_group() as tg:
            self._tasks = tg
            tg.start_soon(self._produce, item_send, window)
            with item_receive, result_send:
                for _ in range(self._workers):
                    tg.start_soon(self._work, item_receive.clone(), result_send.clone())
            async with result_receive:
                try:
                    async for result in self._collect(result_receive, window):
                        yield result
                except GeneratorExit:
                    # The consumer left early: stop the workers and end without raising,
                    # so the task group does not wrap GeneratorExit in an exception group.
                    tg.cancel_scope.cancel()
                    return

    async def _collect(
        self, results: ObjectReceiveStream[tuple[int, R | None]], window: anyio.Semaphore | None
    ) -> AsyncGenerator[R, None]:
        if window is None:
            async for _, result in results:
                if result is not None:
                    yield result
            return
        pending: dict[int, R | None] = {}
        next_seq = 0
        async for seq, result in results:
            pending[seq] = result
            while next_seq in pending:
                ready = pending.pop(next_seq)
                next_seq += 1
                window.release()
                if ready is not None:
                    yield ready
