"""How results reach the user: rich tables for people, JSON for scripts, errors on stderr.

Results go to stdout; messages, warnings, errors and progress go to stderr, so
``sunmi-face --json ... | jq`` and ``export > faces.jsonl`` stay clean. Everything printed
passes :func:`show` (rich markup escaped, control characters made visible), and JSON goes
through :func:`safe_json`: names from the server can neither steer the terminal nor style it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import IntEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..models import Face, FaceGroup, to_dict
from ._safe import safe_json, safe_text

__all__ = ["Output", "face_rows", "group_rows", "show"]


def show(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` ready for ``Console.print``: control characters visible, markup inert."""
    return escape(safe_text(text, keep_newlines=keep_newlines))


def _enum_name(value: object) -> str:
    """A known enum member's name in lower case; an unknown code as its number."""
    if value is None:
        return ""
    is_known = getattr(type(value), "is_known", None)
    if isinstance(value, IntEnum) and is_known is not None and is_known(value):
        return value.name.lower()
    return str(int(value)) if isinstance(value, int) else str(value)


def group_rows(groups: Iterable[FaceGroup]) -> list[list[str]]:
    return [
        [
            g.group_id,
            g.name,
            _enum_name(g.type),
            "" if g.count is None else str(g.count),
            "" if g.capacity is None else str(g.capacity),
            g.description,
            ",".join(g.customer_keys),
        ]
        for g in groups
    ]


GROUP_COLUMNS = ("group id", "name", "type", "faces", "capacity", "description", "custom keys")
FACE_COLUMNS = ("face id", "group", "name", "gender", "age", "arrivals", "created", "values")


def face_rows(faces: Iterable[Face]) -> list[list[str]]:
    return [
        [
            f.face_id,
            f.group_name or (f.group_id or ""),
            f.name,
            _enum_name(f.gender),
            _enum_name(f.age_range).removeprefix("age_").replace("_", "-"),
            "" if f.arrival_count is None else str(f.arrival_count),
            f.create_time.strftime("%Y-%m-%d %H:%M") if f.create_time else "",
            ",".join(f.customer_values),
        ]
        for f in faces
    ]


class _Console(Console):
    """A rich console that lets a closed stdout (``| head``) out as ``BrokenPipeError``, for
    the CLI's one quiet exit (rich's own handler exits with status 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


class Output:
    """The CLI's two voices: ``stdout`` for results, ``stderr`` for everything else."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: Console | None = None,
        stderr: Console | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.stdout = stdout or _Console(highlight=False, soft_wrap=True)
        self.stderr = stderr or _Console(stderr=True, highlight=False, soft_wrap=True)
        if not self.stdout.is_terminal:
            # A pipe or a file has no width: do not fold tables at rich's default 80 columns.
            self.stdout.width = max(self.stdout.width, 160)

    @property
    def interactive(self) -> bool:
        """Whether a person watches both streams (then progress is a live bar)."""
        return self.stdout.is_terminal and self.stderr.is_terminal

    def json(self, data: Any) -> None:
        """One JSON document on stdout."""
        self.stdout.out(safe_json(data), highlight=False)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> None:
        table = Table(title=show(title) or None, show_lines=False, header_style="bold")
        for column in columns:
            table.add_column(show(column), overflow="fold", no_wrap=column.endswith(" id"))
        for row in rows:
            table.add_row(*(show(cell) for cell in row))
        self.stdout.print(table)

    def groups(self, groups: Sequence[FaceGroup]) -> None:
        if self.json_mode:
            self.json([to_dict(g) for g in groups])
        else:
            self.table(GROUP_COLUMNS, group_rows(groups))

    def faces(self, faces: Sequence[Face], title: str = "") -> None:
        if self.json_mode:
            self.json([to_dict(f) for f in faces])
        else:
            self.table(FACE_COLUMNS, face_rows(faces), title)

    def record(self, record: Face | FaceGroup) -> None:
        """One record: JSON, or a two-column table of its fields."""
        data = to_dict(record)
        if self.json_mode:
            self.json(data)
            return
        rows = [[key, _cell(getattr(record, key, value))] for key, value in data.items()]
        self.table(("field", "value"), rows)

    def done(self, message: str, **data: Any) -> None:
        """The result of a command that changes something: a line, or a JSON object."""
        if self.json_mode:
            self.json({"ok": True, **data})
        else:
            self.stdout.print(show(message))

    def result(self, message: str) -> None:
        """A plain result line on stdout (not in ``--json`` mode: the caller decides)."""
        self.stdout.print(show(message))

    def info(self, message: str) -> None:
        self.stderr.print(show(message, keep_newlines=True))

    def warn(self, message: str) -> None:
        self.stderr.print(f"warning: {show(message)}")

    def error(self, message: str) -> None:
        self.stderr.print(f"error: {show(message)}", soft_wrap=True)

    def summary(self, title: str, rows: Mapping[str, object]) -> None:
        """A key/value summary: a table on stdout, or a JSON object."""
        if self.json_mode:
            self.json(dict(rows))
            return
        self.table(("", title), [[key, _cell(value)] for key, value in rows.items()])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, IntEnum):
        return _enum_name(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
