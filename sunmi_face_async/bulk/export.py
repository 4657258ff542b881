"""Export the faces of groups: pages fetched concurrently, de-duplicated, streamed out.

Each group is walked by ``PageWalk``: its first page alone, then windows of up to
``concurrency`` pages fetched at once and handed out in page order, for as long as the pages
bring new faces. The server's ``total_num`` only sizes a window and bounds a runaway (a
server that keeps bringing new faces far past it raises ``ProtocolError``); a server that
serves fewer faces per page than asked is followed at the length it serves. A group that
ends with fewer faces than the server counted is reported as a ``shortfall`` event (and a
logged warning): the faces are the same as ``groups.iter_faces`` gives. Pages shift while a group
changes, so a face may show up twice: only its first sighting is kept (by ``face_id``).
Writers turn the stream into JSON Lines or CSV. A file is written beside its final path and
renamed into place once complete, so it is whole or absent (Ctrl-C leaves no half file). CSV
cells that a spreadsheet would run as a formula are neutralised (OWASP, "CSV injection").
"""

from __future__ import annotations

import csv
import errno
import functools
import json
import os
import re
import stat
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TextIO

import anyio

from ..models import CUSTOM_SLOTS, Face, FacePage, to_dict
from ..paging import PageWalk
from ._client import BulkClient
from ._engine import BulkMap
from ._results import BulkEvent, Progress

__all__ = ["CSV_COLUMNS", "export_faces", "open_atomic", "write_csv", "write_jsonl"]

#: The CSV writer's columns; ``customer_values`` is spread over ``CUSTOM_SLOTS`` columns.
CSV_COLUMNS = (
    "face_id",
    "group_id",
    "group_name",
    "name",
    "gender",
    "age_range",
    "arrival_count",
    "create_time",
    "last_arrival_time",
    *(f"customer_value{slot}" for slot in range(1, CUSTOM_SLOTS + 1)),
)
_RECORD_COLUMNS = CSV_COLUMNS[: len(CSV_COLUMNS) - CUSTOM_SLOTS]


async def export_faces(
    client: BulkClient,
    group_ids: str | Sequence[str],
    *,
    concurrency: int = 16,
    page_size: int = 100,
    on_progress: Callable[[Progress], None] | None = None,
    on_event: Callable[[BulkEvent], None] | None = None,
) -> AsyncGenerator[Face, None]:
    """Every face of ``group_ids`` as ``Face`` records, each ``face_id`` once.

    A group whose pages brought fewer faces than its largest ``total_num`` gives ``on_event``
    a ``BulkEvent("shortfall", key=group_id, detail=...)``.
    """
    if isinstance(group_ids, str):
        group_ids = [group_ids]
    started = anyio.current_time()
    seen: set[str] = set()
    total = 0
    repeated = 0

    def report_page(group_id: str, page: FacePage) -> None:
        if on_event is not None:
            on_event(
                BulkEvent(
                    "page",
                    key=group_id,
                    detail=f"page {page.page_num}: {len(page.faces)} faces",
                    elapsed=anyio.current_time() - started,
                )
            )
        if on_progress is not None:
            elapsed = anyio.current_time() - started
            on_progress(
                Progress(
                    done=len(seen),
                    failed=0,
                    skipped=repeated,
                    unknown=0,
                    total=total,
                    in_flight=0,
                    elapsed=elapsed,
                    rate=len(seen) / elapsed if elapsed > 0 else 0.0,
                )
            )

    for group_id in group_ids:
        walk = PageWalk(page_size, group_id)
        reported: int | None = None

        async def fetch(
            page_num: int, group_id: str = group_id, size: int = page_size
        ) -> FacePage | Exception:
            try:
                page = await client.groups.list_faces(group_id, page_num=page_num, page_size=size)
            except Exception as exc:  # raised below, in the consumer, not in a task group
                return exc
            return page

        while not walk.done:
            window: BulkMap[int, FacePage | Exception] = BulkMap(
                walk.plan(concurrency),
                functools.partial(fetch, size=walk.size),
                concurrency=concurrency,
                adaptive=False,
                ordered=True,
            )
            async with window as pages:
                async for page in pages:
                    if isinstance(page, Exception):
                        raise page
                    if reported is None:
                        reported = page.total_num
                        total += reported
                    new = walk.take(page)
                    repeated += len(page.faces) - len(new)
                    for face in new:
                        if face.face_id in seen:
                            repeated += 1
                            continue
                        seen.add(face.face_id)
                        yield face
                    report_page(group_id, page)
        missing = walk.finish()
        if missing and on_event is not None:
            on_event(
                BulkEvent(
                    "shortfall",
                    key=group_id,
                    detail=f"the server counted {walk.claimed} faces, its pages brought "
                    f"{walk.seen}: {missing} missing",
                    elapsed=anyio.current_time() - started,
                )
            )


@contextmanager
def open_atomic(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A text file that appears at ``path`` only when the block ends without an error.

    A regular file (or a path where nothing is yet) is written as a hidden temporary file in
    the same directory (so the rename stays on one file system), flushed to disk, then renamed
    over ``path``; on any error, Ctrl-C included, the temporary file is removed and ``path``
    is left as it was. A symlink is followed: the file it points to is the one replaced (the
    link stays a link). A new file is readable by its owner only (exports hold personal data);
    a replaced file keeps its permissions. What is not a regular file (a terminal,
    ``/dev/null``, a FIFO, a pipe given as ``/dev/fd/N`` or ``/dev/stdout``) cannot be
    replaced: it is written directly, so an interrupted run leaves part of the data there.
    A directory is refused (``IsADirectoryError`` naming ``path``).
    """
    target = Path(path)
    if _is_stream(target):
        # Appending never truncates what a shell opened with ">>"; a device or FIFO ignores it.
        with open(target, "a", encoding="utf-8", newline="") as stream:
            yield stream
        return
    final = Path(os.path.realpath(target))
    fd, temp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    try:
        with suppress(OSError):  # replacing a file keeps its permissions; a new one is 0600
            os.chmod(temp, final.stat().st_mode & 0o777)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(temp, final)
        except OSError as exc:  # name the user's path, not the temporary file
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


_FD_PATH = re.compile(r"/(dev/(fd/\d+|std(in|out|err))|proc/(self|\d+)/fd/\d+)")


def _is_stream(target: Path) -> bool:
    """Whether ``target`` must be written in place: an open descriptor's path, or an existing
    node that is neither a regular file nor a directory (which is refused here)."""
    if _FD_PATH.fullmatch(os.path.abspath(target)):
        return True
    try:
        mode = target.stat().st_mode  # follows symlinks
    except FileNotFoundError:
        return False  # absent, or a symlink to nothing yet: created at the link's target
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(target))
    return not stat.S_ISREG(mode)


def _open(dest: str | os.PathLike[str] | TextIO, stack: ExitStack) -> TextIO:
    if isinstance(dest, str | os.PathLike):
        return stack.enter_context(open_atomic(dest))
    return dest


async def _each(faces: AsyncIterable[Face] | Iterable[Face]) -> AsyncGenerator[Face, None]:
    if isinstance(faces, AsyncIterable):
        async for face in faces:
            yield face
    else:
        for face in faces:
            yield face


async def write_jsonl(
    faces: AsyncIterable[Face] | Iterable[Face], dest: str | os.PathLike[str] | TextIO
) -> int:
    """Write one JSON object per face (``to_dict`` form); return how many were written."""
    count = 0
    with ExitStack() as stack:
        out = _open(dest, stack)
        async for face in _each(faces):
            out.write(json.dumps(to_dict(face), ensure_ascii=False) + "\n")
            count += 1
    return count


async def write_csv(
    faces: AsyncIterable[Face] | Iterable[Face],
    dest: str | os.PathLike[str] | TextIO,
    *,
    raw: bool = False,
) -> int:
    """Write a CSV with a header (``CSV_COLUMNS``); return how many faces were written.

    A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a line
    feed gets a leading ``'`` so a spreadsheet shows it as text instead of running it as a formula;
    ``raw=True`` writes every value exactly as the server sent it.
    """
    cell = _cell if raw else _inert_cell
    count = 0
    with ExitStack() as stack:
        writer = csv.writer(_open(dest, stack))
        writer.writerow(CSV_COLUMNS)
        async for face in _each(faces):
            row = to_dict(face)
            values = list(face.customer_values) + [""] * (CUSTOM_SLOTS - len(face.customer_values))
            cells = [row.get(column) for column in _RECORD_COLUMNS] + values[:CUSTOM_SLOTS]
            writer.writerow([cell(value) for value in cells])
            count += 1
    return count


def _cell(value: object) -> str:
    return "" if value is None else str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _inert_cell(value: object) -> str:
    text = _cell(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
