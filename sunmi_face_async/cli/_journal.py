"""``sunmi-face journal show|check JOURNAL``: read an enroll journal, resolve unknown items.

``show`` lists a journal's items by manifest line and file. ``check`` lists each group that
holds unknown items and says, per item, whether it is on the server and how much that
proves; ``--mark-resolved`` records what is proven, so that ``enroll --resume`` sends the
absent ones once and never a second copy of those found.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from ._app import cli, output_options
from ._exits import EXIT_FAILED, EXIT_OK, CliError
from ._resume import global_flags, journal_problem, resume_command, take_back
from ._runtime import State, pass_state, run_async

__all__ = ["journal_group"]

_STATUSES = ("done", "failed", "unknown", "in_flight", "duplicate")

_VERDICT_WORDS = {
    "applied": "applied",
    "absent": "not applied",
    "likely": "probably applied (not proven)",
    "wait": "too recent to tell",
    "unlisted": "not checked",
}

WHAT_IT_PROVES = (
    "What this proves: a face carrying the item's external key proves the upload was "
    "applied, and none proves it was not (the listing is complete and the upload is older "
    "than the request timeout plus 5 s). Without an external key, a face with the same name "
    "and attributes shows it probably was but proves little (another picture of the same "
    "person matches too), and no such face shows it was not, unless someone edited or "
    "deleted that face since."
)


@cli.group("journal", short_help="Inspect an enroll journal; resolve unknown items.")
def journal_group() -> None:
    """Inspect an enroll journal, and resolve items whose outcome is unknown."""


def _open(path: Path) -> Any:
    from ..bulk import Journal
    from ..bulk.journal import JournalError

    journal = Journal(path, resume=True)
    try:
        journal.open()
    except JournalError as exc:
        raise CliError(journal_problem(exc)) from None
    return journal


def _named(row: Any) -> dict[str, Any]:
    from ..bulk import item_label

    named = {
        "line": row.line,
        "file": row.picture,
        "name": row.name,
        "external_key": row.external_key,
    }
    return {**named, "label": item_label(named)}


@journal_group.command("show")
@click.argument("journal", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--status", type=click.Choice(_STATUSES), help="Only items with this status.")
@output_options
@pass_state
def show_command(state: State, journal: Path, status: str | None) -> int:
    """List the items of JOURNAL by manifest line and file, with their status.

    \b
    Example:
      sunmi-face journal show .sunmi-face/enroll-photos-G.sqlite --status unknown
    """
    from ..bulk import Status

    with _open(journal) as opened:
        rows = list(opened.rows(Status(status) if status else None))
    items = [
        {**_named(r), "status": r.status.value, "face_id": r.face_id, "reason": r.error or ""}
        for r in rows
    ]
    if state.json_mode:
        state.output.json(items)
        return EXIT_OK
    table = [[i["label"], i["status"], i["face_id"] or "", i["reason"]] for i in items]
    state.output.table(("item", "status", "face id", "reason"), table)
    return EXIT_OK


@journal_group.command("check")
@click.argument("journal", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mark-resolved",
    is_flag=True,
    help="Record what is proven: found items done, absent ones to be sent by --resume.",
)
@click.option("--mark-settled", is_flag=True, hidden=True, help="Deprecated: --mark-resolved.")
@click.option(
    "--accept-name-matches",
    is_flag=True,
    help="With --mark-resolved: also take a face with the same name and attributes as done.",
)
@output_options
@pass_state
def check_command(
    state: State, journal: Path, mark_resolved: bool, mark_settled: bool, accept_name_matches: bool
) -> int:
    """Check, for each unknown item of JOURNAL, whether it is on the server.

    Lists each group once (nothing is uploaded) and says per item whether a face with its
    external key, or else its name and attributes, is there, and how much that proves.

    \b
    Example:
      sunmi-face journal check .sunmi-face/enroll-photos-G.sqlite --mark-resolved
    """
    from ..bulk import check_unknown, resolve_verdicts

    if mark_settled:
        state.output.warn("--mark-settled is deprecated; use --mark-resolved (the same)")
        mark_resolved = True
    if accept_name_matches and not mark_resolved:
        raise click.UsageError("--accept-name-matches goes with --mark-resolved")
    opened = _open(journal)
    with opened:
        recorded = _recorded(opened)
        if recorded is not None:
            state.flags, _ = take_back(recorded, state.flags, {})

        async def body() -> list[Any]:
            async with state.client() as client:
                return await check_unknown(client, opened)

        verdicts = run_async(body)
        resolved = (
            resolve_verdicts(opened, verdicts, accept_likely=accept_name_matches)
            if mark_resolved
            else None
        )
    again = resume_command(recorded, journal, state.flags) if recorded is not None else None
    flags = global_flags(state.flags)
    mark = shlex.join(["sunmi-face", *flags, "journal", "check", str(journal), "--mark-resolved"])
    return _show(state, verdicts, resolved, again, mark)


def _recorded(journal: Any) -> Any:
    from ._resume import JobSettings

    job = journal.job()
    return None if job is None else JobSettings.from_dict(job[1])


def _show(
    state: State,
    verdicts: list[Any],
    resolved: dict[str, int] | None,
    again: str | None,
    mark: str,
) -> int:
    items = [
        {
            **_named(v.row),
            "verdict": v.state,
            "face_ids": list(v.face_ids),
            "detail": v.detail,
        }
        for v in verdicts
    ]
    if state.json_mode:
        state.output.json(
            {
                "items": items,
                "resolved": resolved,
                "settled": resolved,  # deprecated name of "resolved", kept for a release
                "resume": again,
                "proves": WHAT_IT_PROVES,
            }
        )
        return EXIT_OK if all(v.state in ("applied", "absent") for v in verdicts) else EXIT_FAILED
    if not items:
        state.output.info("no unknown item in this journal: nothing to check")
        return EXIT_OK
    for item in items:
        faces = f" (face {', '.join(item['face_ids'])})" if item["face_ids"] else ""
        word = _VERDICT_WORDS[item["verdict"]]
        state.output.info(f"{item['label']}: {word}: {item['detail']}{faces}")
    state.output.info(WHAT_IT_PROVES)
    if resolved is not None:
        said = ", ".join(f"{n} {what}" for what, n in resolved.items())
        state.output.info(f"recorded in the journal: {said}")
        if resolved["to send again"] and again:
            state.output.info(f"send the absent ones (once) with: {again}")
    else:
        state.output.info(f"nothing was changed; to record this in the journal run: {mark}")
    return EXIT_OK if all(v.state in ("applied", "absent") for v in verdicts) else EXIT_FAILED
